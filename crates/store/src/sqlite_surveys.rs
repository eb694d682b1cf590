//! Survey responses in SQLite: `survey_responses`.

use flow::surveys::ResponseStatus;
use jiff::Timestamp;
use serde_json::{Map, Value};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use uuid::Uuid;

use crate::sqlite::{backend, map_err, ms, opt_uuid, page_of, ts, uuid};
use crate::surveys::{ResponseFilter, ResponseRow, SurveyWrite};
use crate::{Page, PageRequest, Result, SqliteStore, StoreError};

fn response_from(row: &SqliteRow) -> Result<ResponseRow> {
    let answers: String = row.try_get("answers").map_err(backend)?;
    let status: String = row.try_get("status").map_err(backend)?;
    let opt_ts = |col: &str| -> Result<Option<Timestamp>> {
        let v: Option<i64> = row.try_get(col).map_err(backend)?;
        v.map(ts).transpose()
    };
    Ok(ResponseRow {
        id: uuid(row.try_get("id").map_err(backend)?)?,
        survey_id: uuid(row.try_get("survey_id").map_err(backend)?)?,
        interaction_id: uuid(row.try_get("interaction_id").map_err(backend)?)?,
        entry_point_id: opt_uuid(row, "entry_point_id")?,
        customer: row.try_get("customer").map_err(backend)?,
        customer_id: opt_uuid(row, "customer_id")?,
        channel: row.try_get("channel").map_err(backend)?,
        status: ResponseStatus::parse(&status)
            .ok_or_else(|| backend(format!("bad survey response status {status}")))?,
        question: row.try_get::<i64, _>("question").map_err(backend)?.max(0) as u32,
        attempts: row.try_get::<i64, _>("attempts").map_err(backend)?.max(0) as u32,
        answers: match serde_json::from_str(&answers).map_err(backend)? {
            Value::Object(m) => m,
            _ => Map::new(),
        },
        token_hash: row.try_get("token_hash").map_err(backend)?,
        created_at: ts(row.try_get("created_at").map_err(backend)?)?,
        started_at: opt_ts("started_at")?,
        expires_at: opt_ts("expires_at")?,
        completed_at: opt_ts("completed_at")?,
    })
}

/// Writes one survey write inside the open transaction: `Conflict` when the response is not
/// where the write expects it (nothing attached to start, no longer in progress).
pub(crate) async fn write_survey(tx: &mut sqlx::SqliteConnection, w: &SurveyWrite) -> Result<()> {
    let changed = match w {
        SurveyWrite::Attach(r) => sqlx::query(
            "INSERT INTO survey_responses (id, survey_id, interaction_id, entry_point_id, customer, customer_id, channel, status, answers, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, 'attached', '{}', ?)
             ON CONFLICT (interaction_id) DO UPDATE SET survey_id = excluded.survey_id WHERE status = 'attached'",
        )
        .bind(r.id.to_string())
        .bind(r.survey_id.to_string())
        .bind(r.interaction_id.to_string())
        .bind(r.entry_point_id.map(|u| u.to_string()))
        .bind(&r.customer)
        .bind(r.customer_id.map(|u| u.to_string()))
        .bind(&r.channel)
        .bind(ms(r.created_at))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?
        .rows_affected(),
        SurveyWrite::Start {
            interaction_id,
            started_at,
            expires_at,
            token_hash,
        } => sqlx::query(
            "UPDATE survey_responses SET status = 'in_progress', started_at = ?, expires_at = ?, token_hash = ?
             WHERE interaction_id = ? AND status = 'attached'",
        )
        .bind(ms(*started_at))
        .bind(ms(*expires_at))
        .bind(token_hash.as_deref())
        .bind(interaction_id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?
        .rows_affected(),
        SurveyWrite::Progress {
            id,
            status,
            question,
            attempts,
            answers,
            at,
        } => {
            let ended = *status != ResponseStatus::InProgress;
            sqlx::query(
                "UPDATE survey_responses SET status = ?, question = ?, attempts = ?, answers = ?, completed_at = ?
                 WHERE id = ? AND status = 'in_progress'",
            )
            .bind(status.as_str())
            .bind(i64::from(*question))
            .bind(i64::from(*attempts))
            .bind(serde_json::to_string(answers).map_err(backend)?)
            .bind(ended.then(|| ms(*at)))
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?
            .rows_affected()
        }
    };
    // an attachment to an interaction whose survey has started already changes nothing, and
    // is no conflict: the interaction is closed, nothing more is asked of it
    if changed == 0 && !matches!(w, SurveyWrite::Attach(_)) {
        return Err(StoreError::Conflict);
    }
    Ok(())
}

impl SqliteStore {
    /// The response attached to an interaction that has not started.
    pub(crate) async fn survey_attached_to(
        &self,
        interaction: Uuid,
    ) -> Result<Option<ResponseRow>> {
        let row = sqlx::query(
            "SELECT * FROM survey_responses WHERE interaction_id = ? AND status = 'attached'",
        )
        .bind(interaction.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.as_ref().map(response_from).transpose()
    }

    /// The survey a customer of an entry point is answering in the channel at `now` (the most
    /// recent, if several).
    pub(crate) async fn survey_waiting_for(
        &self,
        entry_point: Uuid,
        customer: &str,
        now: Timestamp,
    ) -> Result<Option<ResponseRow>> {
        let row = sqlx::query(
            "SELECT * FROM survey_responses WHERE entry_point_id = ? AND customer = ? AND status = 'in_progress'
               AND token_hash IS NULL AND expires_at > ? ORDER BY started_at DESC, id DESC LIMIT 1",
        )
        .bind(entry_point.to_string())
        .bind(customer)
        .bind(ms(now))
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.as_ref().map(response_from).transpose()
    }

    /// Whether any response waits for its answers in the channel at `now`.
    pub(crate) async fn any_survey_waiting(&self, now: Timestamp) -> Result<bool> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM survey_responses WHERE status = 'in_progress' AND token_hash IS NULL AND expires_at > ? LIMIT 1",
        )
        .bind(ms(now))
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(found.is_some())
    }

    /// The response of a page link's token hash.
    pub(crate) async fn survey_of_token(&self, hash: &str) -> Result<Option<ResponseRow>> {
        let row = sqlx::query("SELECT * FROM survey_responses WHERE token_hash = ?")
            .bind(hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(response_from).transpose()
    }

    /// The answers of a survey's page, taken if the response still waits for them at `at`:
    /// `false` when it does not (answered already, expired).
    pub(crate) async fn survey_answered_by_page(
        &self,
        hash: &str,
        answers: &Map<String, Value>,
        at: Timestamp,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE survey_responses SET status = 'completed', answers = ?, question = ?, completed_at = ?
             WHERE token_hash = ? AND status = 'in_progress' AND expires_at > ?",
        )
        .bind(serde_json::to_string(answers).map_err(backend)?)
        .bind(answers.len() as i64)
        .bind(ms(at))
        .bind(hash)
        .bind(ms(at))
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() > 0)
    }

    /// Responses, newest first.
    pub(crate) async fn survey_responses_page(
        &self,
        filter: &ResponseFilter,
        page: &PageRequest,
    ) -> Result<Page<ResponseRow>> {
        let survey = filter.survey_id.map(|u| u.to_string());
        // `expired` and `in_progress` are told apart by the expiry
        let (stored, expired) = match filter.status {
            None => (None, None),
            Some(ResponseStatus::Expired) => (Some("in_progress"), Some(1)),
            Some(ResponseStatus::InProgress) => (Some("in_progress"), Some(0)),
            Some(s) => (Some(s.as_str()), None),
        };
        let rows = sqlx::query(
            "SELECT * FROM survey_responses WHERE (? IS NULL OR survey_id = ?) AND (? IS NULL OR status = ?)
               AND (? IS NULL OR (expires_at <= ?) = ?)
               AND (? IS NULL OR id < ?) ORDER BY id DESC LIMIT ?",
        )
        .bind(survey.as_deref())
        .bind(survey.as_deref())
        .bind(stored)
        .bind(stored)
        .bind(expired)
        .bind(ms(filter.now))
        .bind(expired)
        .bind(page.after.map(|u| u.to_string()))
        .bind(page.after.map(|u| u.to_string()))
        .bind(i64::from(page.limit) + 1)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        let items = rows.iter().map(response_from).collect::<Result<Vec<_>>>()?;
        Ok(page_of(items, page.limit, |r| r.id))
    }
}
