//! Invoices (seed 003 §11): the invoices API (CRUD, filtered pages, CSV import) and the lookup
//! *Search for invoice* and *Pay an invoice* perform. Values are checked and put in canonical
//! form by `flow::invoices` (phones in E.164 read in the deployment's `phone_region`).

use flow::effect::{InvoiceOutcome, InvoiceQuery, InvoiceView};
use flow::invoices::{COLUMNS, InvoiceInput, InvoiceStatus, InvoiceValues, format_amount, limits};
use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;
use store::{InvoiceFilter, InvoiceRow, InvoiceWrite, Page, PageRequest};
use uuid::Uuid;

use crate::conversations::{Conversations, Result};
use crate::databases::{ImportError, ImportReport};
use crate::error::ConversationError;
use crate::maker::MakerError;

/// An invoice, as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Invoice {
    pub id: Uuid,
    pub number: String,
    pub name: String,
    pub customer_number: Option<String>,
    pub mobile_phone: Option<String>,
    pub landline: Option<String>,
    pub email: Option<String>,
    /// With its two decimals.
    pub amount: String,
    pub currency: String,
    pub due_date: Option<Date>,
    pub status: InvoiceStatus,
    pub revision: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl From<InvoiceRow> for Invoice {
    fn from(r: InvoiceRow) -> Self {
        let v = r.values;
        Invoice {
            id: r.id,
            number: v.number,
            name: v.name,
            customer_number: v.customer_number,
            mobile_phone: v.mobile_phone,
            landline: v.landline,
            email: v.email,
            amount: format_amount(v.amount_minor),
            currency: v.currency,
            due_date: v.due_date,
            status: v.status,
            revision: r.revision,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// The invoice as a routing reads it (`bill`).
pub(crate) fn view(r: &InvoiceRow) -> InvoiceView {
    let v = &r.values;
    InvoiceView {
        id: r.id.to_string(),
        number: v.number.clone(),
        name: v.name.clone(),
        amount: format_amount(v.amount_minor),
        currency: v.currency.clone(),
        due_date: v.due_date.map(|d| d.to_string()),
        status: v.status.as_str().to_owned(),
        customer_number: v.customer_number.clone(),
        mobile_phone: v.mobile_phone.clone(),
        landline: v.landline.clone(),
        email: v.email.clone(),
    }
}

fn invalid(field: &str, message: impl std::fmt::Display) -> ConversationError {
    ConversationError::Invalid("invalid_invoice", format!("{field}: {message}"))
}

fn number_taken() -> ConversationError {
    ConversationError::Conflict("number_taken", "another invoice has this number".into())
}

fn full() -> ConversationError {
    ConversationError::Conflict(
        "invoices_full",
        format!("the deployment keeps at most {} invoices", limits::INVOICES),
    )
}

impl Conversations {
    /// The invoice a lookup asks for, whatever its status (*Search for invoice*).
    pub(crate) async fn find_invoice(&self, q: &InvoiceQuery) -> Result<InvoiceOutcome> {
        Ok(
            match self
                .store
                .invoice_find(q.by, &q.value, q.pick, false)
                .await?
            {
                Some(r) => InvoiceOutcome::Found {
                    invoice: Box::new(view(&r)),
                },
                None => InvoiceOutcome::NotFound,
            },
        )
    }

    fn check_invoice(
        &self,
        input: &InvoiceInput,
        current: Option<&InvoiceValues>,
    ) -> std::result::Result<InvoiceValues, ConversationError> {
        input
            .check(current, &self.phone_region)
            .map_err(|e| invalid(e.field, e.message))
    }

    async fn write_invoices(&self, w: &InvoiceWrite) -> Result<()> {
        match self.store.invoice_write(w).await {
            Ok(()) => Ok(()),
            Err(store::StoreError::Unique(_)) => Err(number_taken()),
            Err(store::StoreError::Full) => Err(full()),
            Err(e) => Err(e.into()),
        }
    }

    /// Invoices, newest first.
    pub async fn invoices(
        &self,
        filter: &InvoiceFilter,
        page: &PageRequest,
    ) -> Result<Page<Invoice>> {
        let p = self.store.invoices(filter, page).await?;
        Ok(Page {
            items: p.items.into_iter().map(Invoice::from).collect(),
            next_after: p.next_after,
        })
    }

    /// One invoice.
    pub async fn invoice(&self, id: Uuid) -> Result<Invoice> {
        self.stored_invoice(id).await.map(Invoice::from)
    }

    pub(crate) async fn stored_invoice(&self, id: Uuid) -> Result<InvoiceRow> {
        self.store
            .invoice_by_id(id)
            .await?
            .ok_or_else(|| ConversationError::NotFound(format!("invoice {id}")))
    }

    /// Adds an invoice (open unless its status says otherwise).
    pub async fn create_invoice(&self, input: &InvoiceInput) -> Result<Invoice> {
        let values = self.check_invoice(input, None)?;
        let now = self.now();
        let row = InvoiceRow {
            id: Uuid::now_v7(),
            values,
            revision: 1,
            created_at: now,
            updated_at: now,
        };
        self.write_invoices(&InvoiceWrite::Insert {
            invoices: vec![row.clone()],
            limit: limits::INVOICES,
        })
        .await?;
        Ok(row.into())
    }

    /// Changes an invoice (what `input` gives), if still at `if_match` when given.
    pub async fn update_invoice(
        &self,
        id: Uuid,
        input: &InvoiceInput,
        if_match: Option<u64>,
    ) -> Result<Invoice> {
        let current = self.stored_invoice(id).await?;
        if let Some(expected) = if_match
            && expected != current.revision
        {
            return Err(MakerError::PreconditionFailed {
                current: current.revision,
            }
            .into());
        }
        let values = self.check_invoice(input, Some(&current.values))?;
        if values == current.values {
            return Ok(current.into());
        }
        let next = InvoiceRow {
            values,
            revision: current.revision + 1,
            updated_at: self.now(),
            ..current.clone()
        };
        self.write_invoices(&InvoiceWrite::Update {
            invoice: Box::new(next.clone()),
            expected_revision: current.revision,
        })
        .await
        .map_err(|e| e.stale_after(current.revision))?;
        Ok(next.into())
    }

    /// Removes an invoice.
    pub async fn delete_invoice(&self, id: Uuid) -> Result<()> {
        match self.store.invoice_write(&InvoiceWrite::Delete { id }).await {
            Ok(()) => Ok(()),
            Err(store::StoreError::Conflict) => {
                Err(ConversationError::NotFound(format!("invoice {id}")))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Imports invoices from CSV text: the header names columns among
    /// [`flow::invoices::COLUMNS`] (in any case and order; `number`, `amount` and `currency`
    /// needed); each other line is an invoice, checked as the API checks one. A refused line
    /// (its values, or a number another invoice or an earlier line has) is reported with why;
    /// the others are written by batches of [`limits::IMPORT_BATCH`].
    pub async fn import_invoices(&self, csv: &[u8]) -> Result<ImportReport> {
        if csv.len() > limits::IMPORT_BYTES {
            return Err(invalid(
                "file",
                format!(
                    "an invoice import reads at most {} bytes",
                    limits::IMPORT_BYTES
                ),
            ));
        }
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(csv);
        let mut records = reader.records();
        let header = match records.next() {
            Some(Ok(h)) => h,
            Some(Err(e)) => return Err(invalid("file", format!("line 1: {e}"))),
            None => {
                return Err(invalid(
                    "file",
                    "the file is empty: its first line names the columns",
                ));
            }
        };
        let mut columns: Vec<&'static str> = Vec::new();
        for name in header.iter() {
            let name = name.trim().trim_start_matches('\u{feff}');
            let Some(c) = COLUMNS.iter().find(|c| c.eq_ignore_ascii_case(name)) else {
                return Err(invalid(
                    "file",
                    format!(
                        "line 1: '{name}' is not a column of invoices ({})",
                        COLUMNS.join(", ")
                    ),
                ));
            };
            if columns.contains(c) {
                return Err(invalid("file", format!("line 1: '{c}' is named twice")));
            }
            columns.push(c);
        }
        for needed in ["number", "amount", "currency"] {
            if !columns.contains(&needed) {
                return Err(invalid(
                    "file",
                    format!("line 1: the column '{needed}' is needed"),
                ));
            }
        }
        let mut report = ImportReport::default();
        let refuse = |report: &mut ImportReport, line: u64, message: String| {
            report.refused += 1;
            if report.errors.len() < crate::databases::limits::IMPORT_ERRORS {
                report.errors.push(ImportError { line, message });
            }
        };
        let mut batch: Vec<(u64, InvoiceRow)> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let now = self.now();
        for (i, record) in records.enumerate() {
            let line = i as u64 + 2;
            if i >= limits::IMPORT_LINES {
                self.import_batch(std::mem::take(&mut batch), &mut report, &refuse)
                    .await?;
                return Err(invalid(
                    "file",
                    format!(
                        "an invoice import takes at most {} lines; those before line {line} are kept",
                        limits::IMPORT_LINES
                    ),
                ));
            }
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    refuse(&mut report, line, e.to_string());
                    continue;
                }
            };
            if record.len() != columns.len() {
                refuse(
                    &mut report,
                    line,
                    format!(
                        "{} fields where the header names {}",
                        record.len(),
                        columns.len()
                    ),
                );
                continue;
            }
            let mut input = InvoiceInput::default();
            for (c, v) in columns.iter().zip(record.iter()) {
                input.set(c, v.to_owned());
            }
            let values = match input.check(None, &self.phone_region) {
                Ok(v) => v,
                Err(e) => {
                    refuse(&mut report, line, format!("{}: {}", e.field, e.message));
                    continue;
                }
            };
            if !seen.insert(values.number.clone()) {
                refuse(
                    &mut report,
                    line,
                    format!("number '{}' is an earlier line's", values.number),
                );
                continue;
            }
            batch.push((
                line,
                InvoiceRow {
                    id: Uuid::now_v7(),
                    values,
                    revision: 1,
                    created_at: now,
                    updated_at: now,
                },
            ));
            if batch.len() >= limits::IMPORT_BATCH {
                self.import_batch(std::mem::take(&mut batch), &mut report, &refuse)
                    .await?;
            }
        }
        self.import_batch(batch, &mut report, &refuse).await?;
        report.errors.sort_by_key(|e| e.line);
        Ok(report)
    }

    /// Writes a batch of imported invoices, those whose number an invoice holds refused.
    async fn import_batch(
        &self,
        batch: Vec<(u64, InvoiceRow)>,
        report: &mut ImportReport,
        refuse: &impl Fn(&mut ImportReport, u64, String),
    ) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let numbers: Vec<String> = batch.iter().map(|(_, r)| r.values.number.clone()).collect();
        let held = self.store.invoice_numbers_held(&numbers).await?;
        let mut fresh = Vec::with_capacity(batch.len());
        let mut lines = Vec::with_capacity(batch.len());
        for (line, row) in batch {
            if held.contains(&row.values.number) {
                refuse(
                    report,
                    line,
                    format!("number '{}' is another invoice's", row.values.number),
                );
            } else {
                lines.push(line);
                fresh.push(row);
            }
        }
        let n = fresh.len() as u64;
        match self
            .store
            .invoice_write(&InvoiceWrite::Insert {
                invoices: fresh.clone(),
                limit: limits::INVOICES,
            })
            .await
        {
            Ok(()) => {
                report.inserted += n;
                Ok(())
            }
            // another writer took a number meanwhile: line by line, each refusal said
            Err(store::StoreError::Unique(_)) => {
                for (line, row) in lines.into_iter().zip(fresh) {
                    let number = row.values.number.clone();
                    match self
                        .write_invoices(&InvoiceWrite::Insert {
                            invoices: vec![row],
                            limit: limits::INVOICES,
                        })
                        .await
                    {
                        Ok(()) => report.inserted += 1,
                        Err(ConversationError::Conflict("number_taken", _)) => refuse(
                            report,
                            line,
                            format!("number '{number}' is another invoice's"),
                        ),
                        Err(e) => return Err(e),
                    }
                }
                Ok(())
            }
            Err(store::StoreError::Full) => Err(full()),
            Err(e) => Err(e.into()),
        }
    }
}
