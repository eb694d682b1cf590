//! The SQLite implementation of [`InteractionStore`].

use async_trait::async_trait;
use flow::customer::Customer;
use flow::entry_point::{Channel, EntryPoint, EntryPointId};
use flow::interaction::{InteractionStatus, Mode};
use jiff::Timestamp;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use uuid::Uuid;

use crate::interactions::*;
use crate::sqlite::{backend, map_err, ms, opt_uuid, page_of, ts, uuid};
use crate::{Page, PageRequest, Purged, Result, SqliteStore, StoreError};

fn entry_point_from(row: &SqliteRow) -> Result<EntryPoint> {
    let channel: String = row.try_get("channel").map_err(backend)?;
    Ok(EntryPoint {
        id: uuid(row.try_get("id").map_err(backend)?)?,
        reference: row.try_get("reference").map_err(backend)?,
        name: row.try_get("name").map_err(backend)?,
        channel: Channel::parse(&channel)
            .ok_or_else(|| backend(format!("bad channel {channel}")))?,
        start_routing_id: opt_uuid(row, "start_routing_id")?,
        end_routing_id: opt_uuid(row, "end_routing_id")?,
        test_version_id: opt_uuid(row, "test_version_id")?,
        phone_region: Some(row.try_get::<String, _>("phone_region").map_err(backend)?)
            .filter(|r| !r.is_empty()),
        callback_url: row.try_get("callback_url").map_err(backend)?,
        secret: row.try_get("secret").map_err(backend)?,
        address: row.try_get("address").map_err(backend)?,
        aliases: serde_json::from_str(&row.try_get::<String, _>("aliases").map_err(backend)?)
            .map_err(backend)?,
        customer_routing: row
            .try_get::<Option<String>, _>("customer_routing")
            .map_err(backend)?
            .map(|r| serde_json::from_str(&r).map_err(backend))
            .transpose()?,
        revision: row.try_get::<i64, _>("revision").map_err(backend)? as u64,
        created_at: ts(row.try_get("created_at").map_err(backend)?)?,
        updated_at: ts(row.try_get("updated_at").map_err(backend)?)?,
    })
}

fn interaction_from(row: &SqliteRow) -> Result<InteractionRow> {
    let state: String = row.try_get("state").map_err(backend)?;
    let wake: Option<i64> = row.try_get("wake_at").map_err(backend)?;
    Ok(InteractionRow {
        id: uuid(row.try_get("id").map_err(backend)?)?,
        entry_point_id: opt_uuid(row, "entry_point_id")?,
        mode: {
            let m: String = row.try_get("mode").map_err(backend)?;
            Mode::parse(&m).ok_or_else(|| backend(format!("bad mode {m}")))?
        },
        customer: row.try_get("customer").map_err(backend)?,
        customer_id: opt_uuid(row, "customer_id")?,
        routing_id: uuid(row.try_get("routing_id").map_err(backend)?)?,
        version_id: uuid(row.try_get("version_id").map_err(backend)?)?,
        status: {
            let s: String = row.try_get("status").map_err(backend)?;
            InteractionStatus::parse(&s).ok_or_else(|| backend(format!("bad status {s}")))?
        },
        state: serde_json::from_str(&state).map_err(backend)?,
        wake_at: wake.map(ts).transpose()?,
        next_seq: row.try_get::<i64, _>("next_seq").map_err(backend)? as u64,
        revision: row.try_get::<i64, _>("revision").map_err(backend)? as u64,
        created_at: ts(row.try_get("created_at").map_err(backend)?)?,
        updated_at: ts(row.try_get("updated_at").map_err(backend)?)?,
    })
}

fn outbox_from(row: &SqliteRow) -> Result<OutboxRow> {
    let payload: String = row.try_get("payload").map_err(backend)?;
    let opt_ts = |col: &str| -> Result<Option<Timestamp>> {
        let v: Option<i64> = row.try_get(col).map_err(backend)?;
        v.map(ts).transpose()
    };
    Ok(OutboxRow {
        id: uuid(row.try_get("id").map_err(backend)?)?,
        interaction_id: uuid(row.try_get("interaction_id").map_err(backend)?)?,
        seq: row.try_get::<i64, _>("seq").map_err(backend)? as u64,
        entry_point_id: opt_uuid(row, "entry_point_id")?,
        payload: serde_json::from_str(&payload).map_err(backend)?,
        created_at: ts(row.try_get("created_at").map_err(backend)?)?,
        attempts: row.try_get::<i64, _>("attempts").map_err(backend)? as u32,
        next_attempt_at: opt_ts("next_attempt_at")?,
        delivered_at: opt_ts("delivered_at")?,
        last_error: row.try_get("last_error").map_err(backend)?,
    })
}

/// What a turn's actions wrote besides the interaction (rows of custom databases, cases, CRM
/// card links), inside its savepoint: a refusal the actions could not foresee (a unique value
/// taken, a database full, a record changed or gone meanwhile) makes the turn a `Conflict`.
async fn write_side(tx: &mut sqlx::SqliteConnection, t: &TurnWrite) -> Result<TurnOutcome> {
    let settle = |r: Result<()>| match r {
        Ok(()) => None,
        Err(StoreError::Unique(_) | StoreError::Full | StoreError::Conflict) => {
            Some(Ok(TurnOutcome::Conflict))
        }
        Err(e) => Some(Err(e)),
    };
    for w in &t.db_writes {
        if let Some(done) = settle(crate::sqlite_databases::write_db(&mut *tx, w).await) {
            return done;
        }
    }
    for w in &t.case_writes {
        if let Some(done) = settle(crate::sqlite_cases::write_case(&mut *tx, w).await) {
            return done;
        }
    }
    for l in &t.card_links {
        if let Some(done) = settle(crate::sqlite_crm::write_link(&mut *tx, l).await) {
            return done;
        }
    }
    for l in &t.record_links {
        if let Some(done) = settle(crate::sqlite_crm::write_record_link(&mut *tx, l).await) {
            return done;
        }
    }
    for w in &t.survey_writes {
        if let Some(done) = settle(crate::sqlite_surveys::write_survey(&mut *tx, w).await) {
            return done;
        }
    }
    Ok(TurnOutcome::Committed)
}

/// Writes one turn (and its follow-up) inside the open transaction; `Ok(outcome)` says whether
/// it was written.
/// Rows written by one multi-row statement (events have 4 parameters, outbox rows 11: far
/// below SQLite's limit). Every statement is a round trip to the connection's thread, so a
/// group commit writes all its events, and all its outbox rows, in as few statements as it can.
const ROWS_PER_STATEMENT: usize = 100;

/// The events and outbox rows of the turns a group commit wrote.
#[derive(Default)]
struct Rows<'a> {
    events: Vec<&'a EventRow>,
    outbox: Vec<&'a OutboxRow>,
}

impl Rows<'_> {
    /// Drops the rows collected for `t` (and its follow-up): the turn was taken back.
    fn forget(&mut self, t: &TurnWrite) {
        let mut ids = vec![t.interaction.id];
        if let Some(f) = &t.follow_up {
            ids.push(f.interaction.id);
        }
        self.events.retain(|e| !ids.contains(&e.interaction_id));
        self.outbox.retain(|o| !ids.contains(&o.interaction_id));
    }
}

/// Writes one turn (and its follow-up) inside the open transaction; `Ok(outcome)` says whether
/// it was written. Its events and outbox rows are collected for the batch's final statements.
async fn write_turn<'a>(
    tx: &mut sqlx::SqliteConnection,
    t: &'a TurnWrite,
    rows: &mut Rows<'a>,
) -> Result<TurnOutcome> {
    if t.db_writes.is_empty()
        && t.case_writes.is_empty()
        && t.card_links.is_empty()
        && t.survey_writes.is_empty()
        && t.record_links.is_empty()
    {
        return write_guarded(tx, t, rows).await;
    }
    // a database, case or card link write can be refused after the interaction's row is
    // written: the savepoint takes the whole turn back then
    sqlx::query("SAVEPOINT database_writes")
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
    let written = match write_guarded(tx, t, rows).await {
        Ok(TurnOutcome::Committed) => write_side(tx, t).await,
        other => other,
    };
    let end = if matches!(written, Ok(TurnOutcome::Committed)) {
        "RELEASE database_writes"
    } else {
        "ROLLBACK TO database_writes"
    };
    sqlx::query(end).execute(&mut *tx).await.map_err(map_err)?;
    if end.starts_with("ROLLBACK") {
        sqlx::query("RELEASE database_writes")
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        // what the refused turn had collected is not written
        rows.forget(t);
    }
    written
}

/// [`write_turn`] of a turn whose guarded rows decide alone.
async fn write_guarded<'a>(
    tx: &mut sqlx::SqliteConnection,
    t: &'a TurnWrite,
    rows: &mut Rows<'a>,
) -> Result<TurnOutcome> {
    let outcome = write_one(tx, t).await?;
    if outcome == TurnOutcome::Committed {
        for u in &t.uploads {
            insert_upload(&mut *tx, u).await?;
        }
        for c in &t.web_calls {
            insert_web_call(&mut *tx, c).await?;
        }
        rows.events.extend(&t.events);
        rows.outbox.extend(&t.outbox);
        if let Some(next) = &t.follow_up {
            // a new interaction: nothing can refuse it but a storage error
            let follow = Box::pin(write_turn(tx, next, rows)).await?;
            if follow != TurnOutcome::Committed {
                return Err(backend(format!(
                    "the interaction-end turn could not be written: {follow:?}"
                )));
            }
        }
    }
    Ok(outcome)
}

/// Writes a turn's guarded rows first — the inbound message (deduplication), then the
/// interaction (revision check) — so that a refused turn leaves nothing behind without needing
/// a savepoint: a duplicate writes nothing, a conflict removes the inbound row it had added.
async fn write_one(tx: &mut sqlx::SqliteConnection, t: &TurnWrite) -> Result<TurnOutcome> {
    let i = &t.interaction;
    if let Some((entry_point, message_id)) = &t.inbound {
        let done = sqlx::query("INSERT INTO inbound_messages (entry_point_id, customer, message_id, interaction_id, received_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")
            .bind(entry_point.to_string())
            .bind(&i.customer)
            .bind(message_id)
            .bind(i.id.to_string())
            .bind(ms(i.updated_at))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        if done.rows_affected() == 0 {
            return Ok(TurnOutcome::Duplicate);
        }
    }
    let state = serde_json::to_string(&i.state).map_err(backend)?;
    match t.expected_revision {
        None => {
            let inserted = sqlx::query(
                "INSERT INTO interactions (id, entry_point_id, mode, customer, customer_id, routing_id, version_id, status, state, wake_at, next_seq, revision, created_at, updated_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(i.id.to_string())
            .bind(i.entry_point_id.map(|e| e.to_string()))
            .bind(i.mode.as_str())
            .bind(&i.customer)
            .bind(i.customer_id.map(|c| c.to_string()))
            .bind(i.routing_id.to_string())
            .bind(i.version_id.to_string())
            .bind(i.status.as_str())
            .bind(state)
            .bind(i.wake_at.map(ms))
            .bind(i.next_seq as i64)
            .bind(i.revision as i64)
            .bind(ms(i.created_at))
            .bind(ms(i.updated_at))
            .execute(&mut *tx)
            .await
            .map_err(map_err);
            // its entry point was deleted meanwhile
            if let Err(StoreError::Conflict) = inserted {
                forget_inbound(tx, t).await?;
                return Ok(TurnOutcome::Conflict);
            }
            inserted?;
        }
        Some(expected) => {
            let done = sqlx::query(
                "UPDATE interactions SET routing_id = ?, version_id = ?, status = ?, state = ?, wake_at = ?, next_seq = ?, revision = ?, updated_at = ?
                 WHERE id = ? AND revision = ?",
            )
            .bind(i.routing_id.to_string())
            .bind(i.version_id.to_string())
            .bind(i.status.as_str())
            .bind(state)
            .bind(i.wake_at.map(ms))
            .bind(i.next_seq as i64)
            .bind(i.revision as i64)
            .bind(ms(i.updated_at))
            .bind(i.id.to_string())
            .bind(expected as i64)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
            if done.rows_affected() == 0 {
                forget_inbound(tx, t).await?;
                return Ok(TurnOutcome::Conflict);
            }
        }
    }
    if let Some(c) = &t.new_customer {
        crate::sqlite_customers::insert(&mut *tx, c, true).await?;
    }
    if let Some(w) = &t.acd {
        crate::sqlite_agents::write_acd_rows(&mut *tx, w).await?;
    }
    if let Some((customer, user)) = t.owner {
        // only a customer without owner gets one (an owner set meanwhile is kept)
        sqlx::query("UPDATE customers SET owner_id = ?, revision = revision + 1, updated_at = ? WHERE id = ? AND owner_id IS NULL")
            .bind(user.to_string())
            .bind(ms(i.updated_at))
            .bind(customer.to_string())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
    }
    Ok(TurnOutcome::Committed)
}

/// Removes the inbound row a refused turn had added.
async fn forget_inbound(tx: &mut sqlx::SqliteConnection, t: &TurnWrite) -> Result<()> {
    if let Some((entry_point, message_id)) = &t.inbound {
        sqlx::query(
            "DELETE FROM inbound_messages WHERE entry_point_id = ? AND customer = ? AND message_id = ?",
        )
        .bind(entry_point.to_string())
        .bind(&t.interaction.customer)
        .bind(message_id)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
    }
    Ok(())
}

/// `INSERT INTO <head> VALUES (…), (…), …` with `row` placeholders repeated `n` times.
fn multi_row(head: &str, row: &str, n: usize) -> String {
    let mut sql = format!("INSERT INTO {head} VALUES ");
    for k in 0..n {
        if k > 0 {
            sql.push_str(", ");
        }
        sql.push_str(row);
    }
    sql
}

async fn insert_events(tx: &mut sqlx::SqliteConnection, events: &[&EventRow]) -> Result<()> {
    for chunk in events.chunks(ROWS_PER_STATEMENT) {
        let sql = multi_row(
            "interaction_events (interaction_id, seq, at, event)",
            "(?, ?, ?, ?)",
            chunk.len(),
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for e in chunk {
            q = q
                .bind(e.interaction_id.to_string())
                .bind(e.seq as i64)
                .bind(ms(e.at))
                .bind(serde_json::to_string(&e.event).map_err(backend)?);
        }
        q.execute(&mut *tx).await.map_err(map_err)?;
    }
    Ok(())
}

async fn insert_upload(tx: &mut sqlx::SqliteConnection, u: &Upload) -> Result<()> {
    sqlx::query("INSERT INTO uploads (id, entry_point_id, customer, content_type, size, data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
        .bind(u.id.to_string())
        .bind(u.entry_point_id.to_string())
        .bind(&u.customer)
        .bind(&u.content_type)
        .bind(u.size as i64)
        .bind(&u.data)
        .bind(ms(u.created_at))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
    Ok(())
}

async fn insert_web_call(tx: &mut sqlx::SqliteConnection, c: &WebCallRow) -> Result<()> {
    sqlx::query("INSERT INTO web_calls (id, interaction_id, service_id, inputs, created_at, attempts, next_attempt_at, done_at, last_status, last_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .bind(c.id.to_string())
        .bind(c.interaction_id.to_string())
        .bind(c.service_id.to_string())
        .bind(serde_json::to_string(&c.inputs).map_err(backend)?)
        .bind(ms(c.created_at))
        .bind(i64::from(c.attempts))
        .bind(c.next_attempt_at.map(ms))
        .bind(c.done_at.map(ms))
        .bind(c.last_status.map(i64::from))
        .bind(&c.last_error)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
    Ok(())
}

fn web_call_from(row: &SqliteRow) -> Result<WebCallRow> {
    let inputs: String = row.try_get("inputs").map_err(backend)?;
    let opt_ts = |col: &str| -> Result<Option<Timestamp>> {
        let v: Option<i64> = row.try_get(col).map_err(backend)?;
        v.map(ts).transpose()
    };
    Ok(WebCallRow {
        id: uuid(row.try_get("id").map_err(backend)?)?,
        interaction_id: uuid(row.try_get("interaction_id").map_err(backend)?)?,
        service_id: uuid(row.try_get("service_id").map_err(backend)?)?,
        inputs: serde_json::from_str(&inputs).map_err(backend)?,
        created_at: ts(row.try_get("created_at").map_err(backend)?)?,
        attempts: row.try_get::<i64, _>("attempts").map_err(backend)? as u32,
        next_attempt_at: opt_ts("next_attempt_at")?,
        done_at: opt_ts("done_at")?,
        last_status: row
            .try_get::<Option<i64>, _>("last_status")
            .map_err(backend)?
            .and_then(|s| u16::try_from(s).ok()),
        last_error: row.try_get("last_error").map_err(backend)?,
    })
}

async fn insert_outbox(tx: &mut sqlx::SqliteConnection, outbox: &[&OutboxRow]) -> Result<()> {
    for chunk in outbox.chunks(ROWS_PER_STATEMENT) {
        let sql = multi_row(
            "outbox (id, interaction_id, seq, entry_point_id, payload, created_at, attempts, next_attempt_at, delivered_at, last_error, customer)",
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            chunk.len(),
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for o in chunk {
            q = q
                .bind(o.id.to_string())
                .bind(o.interaction_id.to_string())
                .bind(o.seq as i64)
                .bind(o.entry_point_id.map(|e| e.to_string()))
                .bind(serde_json::to_string(&o.payload).map_err(backend)?)
                .bind(ms(o.created_at))
                .bind(i64::from(o.attempts))
                .bind(o.next_attempt_at.map(ms))
                .bind(o.delivered_at.map(ms))
                .bind(&o.last_error)
                .bind(o.payload.get("customer").and_then(|c| c.as_str()));
        }
        q.execute(&mut *tx).await.map_err(map_err)?;
    }
    Ok(())
}

#[async_trait]
impl InteractionStore for SqliteStore {
    async fn entry_points(&self, page: &PageRequest) -> Result<Page<EntryPoint>> {
        let limit = page.limit.clamp(1, 1_000);
        let rows = sqlx::query(
            "SELECT * FROM entry_points WHERE (?1 IS NULL OR id > ?1) ORDER BY id LIMIT ?2",
        )
        .bind(page.after.map(|a| a.to_string()))
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        let items = rows
            .iter()
            .map(entry_point_from)
            .collect::<Result<Vec<_>>>()?;
        Ok(page_of(items, limit, |e| e.id))
    }

    async fn entry_point(&self, id: EntryPointId) -> Result<Option<EntryPoint>> {
        let row = sqlx::query("SELECT * FROM entry_points WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(entry_point_from).transpose()
    }

    async fn entry_point_by_reference(&self, reference: &str) -> Result<Option<EntryPoint>> {
        let row = sqlx::query("SELECT * FROM entry_points WHERE reference = ?")
            .bind(reference)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(entry_point_from).transpose()
    }

    async fn entry_points_testing(&self, version: Uuid) -> Result<Vec<EntryPoint>> {
        let rows = sqlx::query(
            "SELECT * FROM entry_points WHERE test_version_id = ? ORDER BY reference LIMIT 100",
        )
        .bind(version.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(entry_point_from).collect()
    }

    async fn write_entry_point(&self, write: EntryPointWrite) -> Result<()> {
        let bind_all =
            |q: sqlx::query::Query<'static, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>,
             e: &EntryPoint| {
                q.bind(e.reference.clone())
                    .bind(e.name.clone())
                    .bind(e.channel.as_str())
                    .bind(e.start_routing_id.map(|v| v.to_string()))
                    .bind(e.end_routing_id.map(|v| v.to_string()))
                    .bind(e.test_version_id.map(|v| v.to_string()))
                    .bind(e.phone_region.clone().unwrap_or_default())
                    .bind(e.callback_url.clone())
                    .bind(
                        e.customer_routing
                            .as_ref()
                            .and_then(|r| serde_json::to_string(r).ok()),
                    )
                    .bind(e.revision as i64)
                    .bind(ms(e.updated_at))
                    .bind(e.secret.clone())
                    .bind(e.address.clone())
                    .bind(serde_json::to_string(&e.aliases).unwrap_or_else(|_| "[]".into()))
            };
        let done = match &write {
            EntryPointWrite::Insert(e) => {
                let q = sqlx::query(
                    "INSERT INTO entry_points (reference, name, channel, start_routing_id, end_routing_id, test_version_id, phone_region, callback_url, customer_routing, revision, updated_at, secret, address, aliases, id, created_at)
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                );
                bind_all(q, e)
                    .bind(e.id.to_string())
                    .bind(ms(e.created_at))
                    .execute(&self.pool)
                    .await
                    .map_err(map_err)?
            }
            EntryPointWrite::Update {
                entry_point: e,
                expected_revision,
            } => {
                let q = sqlx::query(
                    "UPDATE entry_points SET reference = ?, name = ?, channel = ?, start_routing_id = ?, end_routing_id = ?, test_version_id = ?,
                            phone_region = ?, callback_url = ?, customer_routing = ?, revision = ?, updated_at = ?, secret = ?, address = ?, aliases = ?
                     WHERE id = ? AND revision = ?",
                );
                bind_all(q, e)
                    .bind(e.id.to_string())
                    .bind(*expected_revision as i64)
                    .execute(&self.pool)
                    .await
                    .map_err(map_err)?
            }
            EntryPointWrite::Delete { id } => sqlx::query("DELETE FROM entry_points WHERE id = ?")
                .bind(id.to_string())
                .execute(&self.pool)
                .await
                .map_err(map_err)?,
        };
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict);
        }
        Ok(())
    }

    async fn open_interaction(
        &self,
        entry_point: EntryPointId,
        customer: &str,
    ) -> Result<Option<InteractionRow>> {
        let row = sqlx::query("SELECT * FROM interactions WHERE entry_point_id = ? AND customer = ? AND status <> 'closed' ORDER BY id DESC LIMIT 1")
            .bind(entry_point.to_string())
            .bind(customer)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(interaction_from).transpose()
    }

    async fn imap_state(&self, entry_point: EntryPointId) -> Result<Option<(u32, u32)>> {
        let row: Option<(i64, i64)> = sqlx::query_as(
            "SELECT uid_validity, last_uid FROM imap_state WHERE entry_point_id = ?",
        )
        .bind(entry_point.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(row.map(|(v, u)| (v as u32, u as u32)))
    }

    async fn set_imap_state(
        &self,
        entry_point: EntryPointId,
        uid_validity: u32,
        last_uid: u32,
        now: Timestamp,
    ) -> Result<()> {
        sqlx::query("INSERT INTO imap_state (entry_point_id, uid_validity, last_uid, updated_at) VALUES (?, ?, ?, ?)
                     ON CONFLICT (entry_point_id) DO UPDATE SET uid_validity = excluded.uid_validity, last_uid = excluded.last_uid, updated_at = excluded.updated_at")
            .bind(entry_point.to_string())
            .bind(i64::from(uid_validity))
            .bind(i64::from(last_uid))
            .bind(ms(now))
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn open_interactions(
        &self,
        entry_point: EntryPointId,
        customer: &str,
        limit: u32,
    ) -> Result<Vec<InteractionRow>> {
        let rows = sqlx::query("SELECT * FROM interactions WHERE entry_point_id = ? AND customer = ? AND status <> 'closed' ORDER BY id DESC LIMIT ?")
            .bind(entry_point.to_string())
            .bind(customer)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter().map(interaction_from).collect()
    }

    async fn latest_interaction(
        &self,
        entry_point: EntryPointId,
        customer: &str,
    ) -> Result<Option<InteractionRow>> {
        let row = sqlx::query("SELECT * FROM interactions WHERE entry_point_id = ? AND customer = ? ORDER BY id DESC LIMIT 1")
            .bind(entry_point.to_string())
            .bind(customer)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(interaction_from).transpose()
    }

    async fn interaction(&self, id: Uuid) -> Result<Option<InteractionRow>> {
        let row = sqlx::query("SELECT * FROM interactions WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(interaction_from).transpose()
    }

    async fn interactions(
        &self,
        f: &InteractionFilter,
        page: &PageRequest,
    ) -> Result<Page<InteractionRow>> {
        let limit = page.limit.clamp(1, 1_000);
        let rows = sqlx::query(
            "SELECT * FROM interactions
             WHERE (?1 IS NULL OR entry_point_id = ?1) AND (?2 IS NULL OR version_id = ?2) AND (?3 IS NULL OR status = ?3)
               AND (?4 IS NULL OR mode = ?4) AND (?5 IS NULL OR id < ?5) AND (?7 IS NULL OR customer_id = ?7)
               AND (?8 = 0 OR mode NOT IN ('live', 'outgoing'))
             ORDER BY id DESC LIMIT ?6",
        )
        .bind(f.entry_point_id.map(|v| v.to_string()))
        .bind(f.version_id.map(|v| v.to_string()))
        .bind(f.status.map(InteractionStatus::as_str))
        .bind(f.mode.map(Mode::as_str))
        .bind(page.after.map(|a| a.to_string()))
        .bind(i64::from(limit) + 1)
        .bind(f.customer_id.map(|c| c.to_string()))
        .bind(f.not_live)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        let items = rows
            .iter()
            .map(interaction_from)
            .collect::<Result<Vec<_>>>()?;
        Ok(page_of(items, limit, |i| i.id))
    }

    async fn events(&self, interaction: Uuid, after_seq: u64, limit: u32) -> Result<Vec<EventRow>> {
        let rows = sqlx::query("SELECT * FROM interaction_events WHERE interaction_id = ? AND seq > ? ORDER BY seq LIMIT ?")
            .bind(interaction.to_string())
            .bind(after_seq as i64)
            .bind(i64::from(limit.clamp(1, 10_000)))
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter()
            .map(|row| {
                let event: String = row.try_get("event").map_err(backend)?;
                Ok(EventRow {
                    interaction_id: interaction,
                    seq: row.try_get::<i64, _>("seq").map_err(backend)? as u64,
                    at: ts(row.try_get("at").map_err(backend)?)?,
                    event: serde_json::from_str(&event).map_err(backend)?,
                })
            })
            .collect()
    }

    async fn inbound_seen(
        &self,
        entry_point: EntryPointId,
        customer: &str,
        message_id: &str,
    ) -> Result<Option<Uuid>> {
        let id: Option<String> = sqlx::query_scalar("SELECT interaction_id FROM inbound_messages WHERE entry_point_id = ? AND customer = ? AND message_id = ?")
            .bind(entry_point.to_string())
            .bind(customer)
            .bind(message_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        id.as_deref().map(uuid).transpose()
    }

    async fn commit_turns(&self, turns: Vec<TurnWrite>) -> Result<Vec<TurnOutcome>> {
        self.commit_batch(&[], turns).await
    }

    async fn commit_batch(
        &self,
        acd: &[crate::AcdWrite],
        turns: Vec<TurnWrite>,
    ) -> Result<Vec<TurnOutcome>> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        for w in acd {
            crate::sqlite_agents::write_acd_rows(&mut tx, w).await?;
        }
        let mut outcomes = Vec::with_capacity(turns.len());
        let mut rows = Rows::default();
        for t in &turns {
            let outcome = match write_turn(&mut tx, t, &mut rows).await {
                Ok(o) => o,
                Err(StoreError::Conflict) => TurnOutcome::Conflict,
                Err(e) => return Err(e),
            };
            outcomes.push(outcome);
        }
        insert_events(&mut tx, &rows.events).await?;
        insert_outbox(&mut tx, &rows.outbox).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(outcomes)
    }

    async fn due_interactions(&self, now: Timestamp, limit: u32) -> Result<Vec<Uuid>> {
        let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM interactions WHERE wake_at IS NOT NULL AND wake_at <= ? ORDER BY wake_at LIMIT ?")
            .bind(ms(now))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        ids.iter().map(|s| uuid(s)).collect()
    }

    async fn next_wake(&self) -> Result<Option<Timestamp>> {
        let next: Option<i64> =
            sqlx::query_scalar("SELECT MIN(wake_at) FROM interactions WHERE wake_at IS NOT NULL")
                .fetch_one(&self.pool)
                .await
                .map_err(map_err)?;
        next.map(ts).transpose()
    }

    async fn pending_outbox(&self, now: Timestamp, limit: u32) -> Result<Vec<OutboxRow>> {
        let rows = sqlx::query("SELECT * FROM outbox o
             WHERE o.delivered_at IS NULL AND o.next_attempt_at IS NOT NULL AND o.next_attempt_at <= ?
               AND NOT EXISTS (
                   SELECT 1 FROM outbox p INDEXED BY outbox_pending_by_customer
                   WHERE p.entry_point_id IS o.entry_point_id AND p.customer IS o.customer
                     AND p.delivered_at IS NULL AND p.next_attempt_at IS NOT NULL AND p.id < o.id)
             ORDER BY o.id LIMIT ?")
            .bind(ms(now))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter().map(outbox_from).collect()
    }

    async fn pending_web_calls(&self, now: Timestamp, limit: u32) -> Result<Vec<WebCallRow>> {
        let rows = sqlx::query("SELECT * FROM web_calls WHERE next_attempt_at IS NOT NULL AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?")
            .bind(ms(now))
            .bind(i64::from(limit.clamp(1, 1_000)))
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter().map(web_call_from).collect()
    }

    async fn next_web_call_attempt(&self) -> Result<Option<Timestamp>> {
        let next: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(next_attempt_at) FROM web_calls WHERE next_attempt_at IS NOT NULL",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        next.map(ts).transpose()
    }

    async fn record_web_call(
        &self,
        id: Uuid,
        attempts: u32,
        done_at: Option<Timestamp>,
        next_attempt_at: Option<Timestamp>,
        status: Option<u16>,
        error: Option<String>,
    ) -> Result<()> {
        sqlx::query("UPDATE web_calls SET attempts = ?, done_at = ?, next_attempt_at = ?, last_status = ?, last_error = ? WHERE id = ?")
            .bind(i64::from(attempts))
            .bind(done_at.map(ms))
            .bind(next_attempt_at.map(ms))
            .bind(status.map(i64::from))
            .bind(error)
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn db_write(&self, writes: &[crate::DbWrite]) -> Result<()> {
        self.db_write_rows(writes).await
    }
    async fn db_row(&self, database: Uuid, id: Uuid) -> Result<Option<crate::DbRow>> {
        self.db_row_of(database, id).await
    }
    async fn db_rows(
        &self,
        database: Uuid,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<crate::Page<crate::DbRow>> {
        self.db_page_of(database, after, limit).await
    }
    async fn db_rows_by_key(
        &self,
        database: Uuid,
        column: &str,
        key: &str,
        unique: bool,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<crate::Page<crate::DbRow>> {
        self.db_by_key_of(database, column, key, unique, after, limit)
            .await
    }
    async fn db_count(&self, database: Uuid) -> Result<u64> {
        self.db_count_of(database).await
    }
    async fn target_insert(
        &self,
        target: &crate::TargetRow,
        limit: u64,
    ) -> Result<crate::TargetInsert> {
        self.target_insert_once(target, limit).await
    }
    async fn target_held(&self, campaign: Uuid, phone: &str, pending_only: bool) -> Result<bool> {
        self.target_held_by(campaign, phone, pending_only).await
    }
    async fn targets(
        &self,
        campaign: Uuid,
        page: &PageRequest,
    ) -> Result<crate::Page<crate::TargetRow>> {
        self.targets_page(campaign, page).await
    }
    async fn customer_cards(&self, customer: Uuid, limit: u32) -> Result<Vec<crate::CardLink>> {
        self.card_links_of_customer(customer, limit).await
    }
    async fn customer_records(&self, customer: Uuid, limit: u32) -> Result<Vec<crate::RecordLink>> {
        self.record_links_of_customer(customer, limit).await
    }
    async fn interaction_cards(&self, interaction: Uuid) -> Result<Vec<crate::CardLink>> {
        self.card_links_of_interaction(interaction).await
    }
    async fn task_insert(&self, task: &crate::TaskRow, limit: u64) -> Result<crate::TargetInsert> {
        self.task_insert_once(task, limit).await
    }
    async fn task_by_key(&self, key: &str) -> Result<Option<crate::TaskRow>> {
        self.task_of_key(key).await
    }
    async fn task_by_id(&self, id: Uuid) -> Result<Option<crate::TaskRow>> {
        self.task_of_id(id).await
    }
    async fn task_set_status(&self, id: Uuid, status: &str, at: jiff::Timestamp) -> Result<()> {
        self.task_status(id, status, at).await
    }
    async fn task_delete(&self, id: Uuid) -> Result<()> {
        self.task_remove(id).await
    }
    async fn tasks(
        &self,
        filter: &crate::TaskFilter,
        page: &PageRequest,
    ) -> Result<crate::Page<crate::TaskRow>> {
        self.tasks_page(filter, page).await
    }
    async fn payment_begin(&self, payment: &crate::PaymentRow) -> Result<crate::PaymentRow> {
        self.payment_insert_once(payment).await
    }
    async fn payment_set(&self, payment: &crate::PaymentRow) -> Result<()> {
        self.payment_update(payment).await
    }
    async fn payment_by_id(&self, id: Uuid) -> Result<Option<crate::PaymentRow>> {
        self.payment_of_id(id).await
    }
    async fn payment_event(&self, event: &crate::PaymentEventWrite) -> Result<bool> {
        self.payment_event_take(event).await
    }
    async fn survey_attached(&self, interaction: Uuid) -> Result<Option<crate::ResponseRow>> {
        self.survey_attached_to(interaction).await
    }
    async fn survey_waiting(
        &self,
        entry_point: Uuid,
        customer: &str,
        now: jiff::Timestamp,
    ) -> Result<Option<crate::ResponseRow>> {
        self.survey_waiting_for(entry_point, customer, now).await
    }
    async fn surveys_waiting(&self, now: jiff::Timestamp) -> Result<bool> {
        self.any_survey_waiting(now).await
    }
    async fn survey_by_token(&self, hash: &str) -> Result<Option<crate::ResponseRow>> {
        self.survey_of_token(hash).await
    }
    async fn survey_page_answers(
        &self,
        hash: &str,
        answers: &serde_json::Map<String, serde_json::Value>,
        at: jiff::Timestamp,
    ) -> Result<bool> {
        self.survey_answered_by_page(hash, answers, at).await
    }
    async fn survey_responses(
        &self,
        filter: &crate::ResponseFilter,
        page: &PageRequest,
    ) -> Result<crate::Page<crate::ResponseRow>> {
        self.survey_responses_page(filter, page).await
    }
    async fn payments(
        &self,
        filter: &crate::PaymentFilter,
        page: &PageRequest,
    ) -> Result<crate::Page<crate::PaymentRow>> {
        self.payments_page(filter, page).await
    }
    async fn invoice_write(&self, write: &crate::InvoiceWrite) -> Result<()> {
        self.invoice_write_all(write).await
    }
    async fn invoice_by_id(&self, id: Uuid) -> Result<Option<crate::InvoiceRow>> {
        self.invoice_of_id(id).await
    }
    async fn invoice_find(
        &self,
        key: flow::catalogue::params::InvoiceKey,
        value: &str,
        pick: flow::catalogue::params::InvoicePick,
        open_only: bool,
    ) -> Result<Option<crate::InvoiceRow>> {
        self.invoice_lookup(key, value, pick, open_only).await
    }
    async fn invoice_numbers_held(&self, numbers: &[String]) -> Result<Vec<String>> {
        self.invoice_numbers_in(numbers).await
    }
    async fn invoices(
        &self,
        filter: &crate::InvoiceFilter,
        page: &PageRequest,
    ) -> Result<crate::Page<crate::InvoiceRow>> {
        self.invoices_page(filter, page).await
    }
    async fn case_write(&self, writes: &[crate::CaseWrite]) -> Result<()> {
        self.case_write_all(writes).await
    }
    async fn case_by_id(&self, id: Uuid) -> Result<Option<crate::CaseRow>> {
        self.case_of_id(id).await
    }
    async fn case_by_reference(&self, reference: &str) -> Result<Option<crate::CaseRow>> {
        self.case_of_reference(reference).await
    }
    async fn cases(
        &self,
        filter: &crate::CaseFilter,
        page: &PageRequest,
    ) -> Result<crate::Page<crate::CaseRow>> {
        self.cases_page(filter, page).await
    }
    async fn case_of_interaction(&self, interaction: Uuid) -> Result<Option<crate::CaseRow>> {
        self.case_linked_to(interaction).await
    }
    async fn case_links(
        &self,
        case: Uuid,
        offset: u64,
        limit: u32,
    ) -> Result<Vec<crate::CaseLink>> {
        self.case_links_of(case, offset, limit).await
    }
    async fn case_link_count(&self, case: Uuid) -> Result<u64> {
        self.case_link_count_of(case).await
    }
    async fn case_number(&self) -> Result<u64> {
        self.case_number_next().await
    }
    async fn db_unique_held(
        &self,
        database: Uuid,
        keys: &[(String, String)],
    ) -> Result<Vec<(String, String)>> {
        self.db_unique_held_of(database, keys).await
    }
    async fn web_calls_of(
        &self,
        service: Uuid,
        page: &crate::PageRequest,
    ) -> Result<crate::Page<WebCallRow>> {
        let limit = page.limit.clamp(1, 200);
        let rows = sqlx::query("SELECT * FROM web_calls WHERE service_id = ?1 AND (?2 IS NULL OR id < ?2) ORDER BY id DESC LIMIT ?3")
            .bind(service.to_string())
            .bind(page.after.map(|a| a.to_string()))
            .bind(i64::from(limit) + 1)
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        let mut items = rows.iter().map(web_call_from).collect::<Result<Vec<_>>>()?;
        let next_after = (items.len() > limit as usize).then(|| {
            items.truncate(limit as usize);
            items.last().map(|c| c.id)
        });
        Ok(crate::Page {
            items,
            next_after: next_after.flatten(),
        })
    }

    async fn mark_call(&self, key: &str, at: Timestamp) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO call_marks (key, created_at) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
        )
        .bind(key)
        .bind(ms(at))
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn next_outbox_attempt(&self) -> Result<Option<Timestamp>> {
        let next: Option<i64> = sqlx::query_scalar("SELECT MIN(next_attempt_at) FROM outbox WHERE delivered_at IS NULL AND next_attempt_at IS NOT NULL")
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        next.map(ts).transpose()
    }

    async fn record_attempt(
        &self,
        id: Uuid,
        attempts: u32,
        delivered_at: Option<Timestamp>,
        next_attempt_at: Option<Timestamp>,
        error: Option<String>,
    ) -> Result<()> {
        sqlx::query("UPDATE outbox SET attempts = ?, delivered_at = ?, next_attempt_at = ?, last_error = ? WHERE id = ?")
            .bind(i64::from(attempts))
            .bind(delivered_at.map(ms))
            .bind(next_attempt_at.map(ms))
            .bind(error)
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn record_provider_id(&self, id: Uuid, provider_message_id: &str) -> Result<()> {
        sqlx::query("UPDATE outbox SET provider_message_id = ?, status = 'accepted' WHERE id = ?")
            .bind(provider_message_id)
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn record_delivery_status(
        &self,
        provider_message_id: &str,
        status: &str,
    ) -> Result<Option<(Uuid, u64)>> {
        let row = sqlx::query("UPDATE outbox SET status = ? WHERE provider_message_id = ? RETURNING interaction_id, seq")
            .bind(status)
            .bind(provider_message_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.map(|r| {
            Ok((
                uuid(r.try_get("interaction_id").map_err(backend)?)?,
                r.try_get::<i64, _>("seq").map_err(backend)? as u64,
            ))
        })
        .transpose()
    }

    async fn contacts(&self, customer: Uuid, except: Uuid, limit: u32) -> Result<Vec<Timestamp>> {
        let at: Vec<i64> = sqlx::query_scalar("SELECT created_at FROM interactions WHERE customer_id = ? AND id <> ? AND mode IN ('live', 'test') ORDER BY created_at DESC LIMIT ?")
            .bind(customer.to_string())
            .bind(except.to_string())
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        at.into_iter().map(ts).collect()
    }

    async fn customer(&self, id: Uuid) -> Result<Option<Customer>> {
        self.customer_row(id).await
    }

    async fn customers(
        &self,
        filter: &CustomerFilter,
        page: &PageRequest,
    ) -> Result<Page<Customer>> {
        self.customers_page(filter, page).await
    }

    async fn write_customer(&self, write: CustomerWrite) -> Result<()> {
        self.customer_write(write).await
    }

    async fn put_upload(&self, u: &Upload) -> Result<()> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        insert_upload(&mut conn, u).await
    }

    async fn upload_usage(
        &self,
        entry_point: EntryPointId,
        customer: &str,
        since: Timestamp,
    ) -> Result<(u64, u64)> {
        let (count, bytes): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM uploads WHERE entry_point_id = ? AND customer = ? AND created_at >= ?",
        )
        .bind(entry_point.to_string())
        .bind(customer)
        .bind(ms(since))
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        Ok((count as u64, bytes as u64))
    }

    async fn purge(&self, before: Timestamp, limit: u32) -> Result<Purged> {
        let cutoff = ms(before);
        let limit = i64::from(limit.clamp(1, 100_000));
        let run = |sql: &'static str| {
            let pool = self.pool.clone();
            async move {
                sqlx::query(sql)
                    .bind(cutoff)
                    .bind(limit)
                    .execute(&pool)
                    .await
                    .map(|r| r.rows_affected())
                    .map_err(map_err)
            }
        };
        Ok(Purged {
            events: run("DELETE FROM interaction_events WHERE rowid IN (SELECT e.rowid FROM interaction_events e JOIN interactions i ON i.id = e.interaction_id WHERE i.status = 'closed' AND i.updated_at < ?1 LIMIT ?2)").await?,
            inbound: run("DELETE FROM inbound_messages WHERE rowid IN (SELECT rowid FROM inbound_messages WHERE received_at < ?1 LIMIT ?2)").await?,
            outbox: run("DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE created_at < ?1 AND (delivered_at IS NOT NULL OR next_attempt_at IS NULL) LIMIT ?2)").await?,
            uploads: run("DELETE FROM uploads WHERE id IN (SELECT id FROM uploads WHERE created_at < ?1 LIMIT ?2)").await?,
            call_marks: run("DELETE FROM call_marks WHERE rowid IN (SELECT rowid FROM call_marks WHERE created_at < ?1 LIMIT ?2)").await?,
            web_calls: run("DELETE FROM web_calls WHERE id IN (SELECT id FROM web_calls WHERE created_at < ?1 AND next_attempt_at IS NULL LIMIT ?2)").await?,
        })
    }

    async fn upload(&self, id: Uuid) -> Result<Option<Upload>> {
        let row = sqlx::query("SELECT * FROM uploads WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(Upload {
            id,
            entry_point_id: uuid(row.try_get("entry_point_id").map_err(backend)?)?,
            customer: row.try_get("customer").map_err(backend)?,
            content_type: row.try_get("content_type").map_err(backend)?,
            size: row.try_get::<i64, _>("size").map_err(backend)? as u64,
            data: row.try_get("data").map_err(backend)?,
            created_at: ts(row.try_get("created_at").map_err(backend)?)?,
        }))
    }

    async fn outbox_of(&self, interaction: Uuid) -> Result<Vec<OutboxRow>> {
        let rows = sqlx::query("SELECT * FROM outbox WHERE interaction_id = ? ORDER BY seq")
            .bind(interaction.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter().map(outbox_from).collect()
    }
}
