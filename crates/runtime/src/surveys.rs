//! Surveys (seed 003 §10): *Survey* attaches one to the interaction; when the interaction
//! closes it is conducted — in the conversation for messaging channels (its questions one by
//! one: while it waits, the customer's messages on the entry point are its answers instead of
//! opening an interaction), by an email carrying the link to its page for the email family —
//! and its answers are kept (`/survey-responses`, and their CSV export).
//!
//! Every step of a survey conducted in the channel is a turn of the closed interaction on the
//! one transition path (its lock, its revision, its inbound deduplication): the answers and
//! questions are in its history, and a message handled twice is answered once.

use engine::{Event, State, SurveyNote, Turn};
use flow::catalogue::ObjectKind;
use flow::effect::{SurveyOutcome, SurveyRequest};
use flow::entry_point::{Channel, EntryPoint};
use flow::exec::Outbound;
use flow::surveys::{Progress, ResponseStatus, SurveyData};
use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Map, Value};
use store::{Page, PageRequest, ResponseFilter, ResponseRow, SurveyWrite};
use uuid::Uuid;

use crate::conversations::{Conversations, InboundMessage, Result};
use crate::error::ConversationError;

/// Where the interaction a survey is attached to came from.
#[derive(Clone, Debug)]
pub(crate) struct Asked {
    pub entry_point: Option<(Uuid, Channel)>,
    /// The customer as the channel knows them.
    pub customer: String,
}

/// A survey response, as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Response {
    pub id: Uuid,
    pub survey_id: Uuid,
    pub interaction_id: Uuid,
    pub customer_id: Option<Uuid>,
    pub channel: String,
    pub status: ResponseStatus,
    pub answers: Map<String, Value>,
    pub created_at: Timestamp,
    pub started_at: Option<Timestamp>,
    pub expires_at: Option<Timestamp>,
    pub completed_at: Option<Timestamp>,
}

impl Response {
    fn of(r: ResponseRow, now: Timestamp) -> Response {
        Response {
            status: r.status_at(now),
            id: r.id,
            survey_id: r.survey_id,
            interaction_id: r.interaction_id,
            customer_id: r.customer_id,
            channel: r.channel,
            answers: r.answers,
            created_at: r.created_at,
            started_at: r.started_at,
            expires_at: r.expires_at,
            completed_at: r.completed_at,
        }
    }
}

/// A survey's page (the email family), as its link's token finds it.
#[derive(Clone, Debug)]
pub struct SurveyPage {
    /// The survey's name.
    pub name: String,
    pub survey: SurveyData,
    /// `in_progress`: waiting for the answers; else answered, expired or given up.
    pub status: ResponseStatus,
}

/// A turn of the closed interaction a survey answer makes: its row and state as loaded, the
/// turn (the message, the survey's events, what follows said), the response's progress.
pub(crate) struct SurveyTurn {
    pub row: store::InteractionRow,
    pub state: State,
    pub turn: Turn,
    pub progress: SurveyWrite,
    pub now: Timestamp,
}

/// What a customer's message does to the survey waiting for it.
pub(crate) enum Answered {
    /// A turn of the closed interaction: the answer recorded, what follows said.
    Turn(Box<SurveyTurn>),
    /// The message is no answer (again): the survey is given up by this write, and the message
    /// opens an interaction as any other would.
    GivenUp(SurveyWrite),
}

/// What [`Conversations::survey_waiting`] knows of surveys waiting in channels: not asked yet,
/// none (at the first ask, and none started since), some may be.
const UNKNOWN: u8 = 0;
const NONE: u8 = 1;
const SOME: u8 = 2;

/// The SHA-256 (hex) of a page link's token: what is kept of it.
fn token_hash(token: &str) -> String {
    use sha2::Digest;
    crate::secrets::hex(&sha2::Sha256::digest(token.as_bytes()))
}

fn error(reason: impl Into<String>) -> SurveyOutcome {
    SurveyOutcome::Error {
        reason: reason.into(),
    }
}

/// Free text a spreadsheet would read as a formula is written as text.
fn csv_cell(v: &Value) -> String {
    let s = match v {
        Value::Null => return String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s
    }
}

impl Conversations {
    /// The survey of a request, if there is one and its data reads.
    async fn survey_named(
        &self,
        name: &flow::effect::ObjectName,
    ) -> Result<Option<(flow::objects::BusinessObject, Option<SurveyData>)>> {
        let Some(object) = self.maker().object_named(ObjectKind::Survey, name).await? else {
            return Ok(None);
        };
        let data = serde_json::from_value(object.data.clone()).ok();
        Ok(Some((object, data)))
    }

    /// Performs *Survey*: the survey read, then attached to the interaction (written with the
    /// turn; a preview writes nothing). An email-family interaction needs the deployment's
    /// public address for the survey's page.
    pub(crate) async fn survey_request(
        &self,
        state: &State,
        req: &SurveyRequest,
        asked: &Asked,
        writes: &mut Vec<SurveyWrite>,
    ) -> Result<SurveyOutcome> {
        let Some((object, data)) = self.survey_named(&req.survey).await? else {
            return Ok(SurveyOutcome::ReferenceNotFound);
        };
        if data.is_none() {
            return Ok(error("the survey's data cannot be read"));
        }
        let channel = asked.entry_point.map(|(_, c)| c);
        if channel == Some(Channel::Email) && self.public_url.is_none() {
            return Ok(error(
                "a survey goes by email as a link to its page: the deployment has no public_url to make it with",
            ));
        }
        writes.retain(|w| !matches!(w, SurveyWrite::Attach(_)));
        writes.push(SurveyWrite::Attach(Box::new(ResponseRow {
            id: Uuid::now_v7(),
            survey_id: object.id,
            interaction_id: state.interaction_id(),
            entry_point_id: asked.entry_point.map(|(id, _)| id),
            customer: asked.customer.clone(),
            customer_id: crate::cases::customer_of(state),
            channel: channel.map(Channel::as_str).unwrap_or("preview").to_owned(),
            status: ResponseStatus::Attached,
            question: 0,
            attempts: 0,
            answers: Map::new(),
            token_hash: None,
            created_at: self.now(),
            started_at: None,
            expires_at: None,
            completed_at: None,
        })));
        Ok(SurveyOutcome::Attached)
    }

    /// When `turn` closes an interaction that has a survey attached (in this turn or before),
    /// starts it in the same turn: its first question in the conversation (messaging), or the
    /// link to its page (email family). Previews conduct none.
    pub(crate) async fn survey_on_close(
        &self,
        id: Uuid,
        ep: Option<&EntryPoint>,
        turn: &mut Turn,
        writes: &mut Vec<SurveyWrite>,
        now: Timestamp,
    ) -> Result<()> {
        let (Some(ep), Some(_)) = (ep, &turn.closed) else {
            return Ok(());
        };
        let attached = writes.iter().rev().find_map(|w| match w {
            SurveyWrite::Attach(r) => Some((**r).clone()),
            _ => None,
        });
        let attached = match attached {
            Some(r) => r,
            None => match self.store.survey_attached(id).await? {
                Some(r) => r,
                None => return Ok(()),
            },
        };
        let name = flow::effect::ObjectName::Entity {
            id: attached.survey_id.to_string(),
        };
        let data = match self.survey_named(&name).await? {
            Some((_, Some(data))) => data,
            gone => {
                let reason = match gone {
                    None => "the survey was deleted",
                    Some(_) => "the survey's data cannot be read",
                };
                turn.events.push(Event::Survey {
                    detail: SurveyNote::NotStarted {
                        reason: reason.into(),
                    },
                });
                return Ok(());
            }
        };
        let (say, token, by) = if ep.channel == Channel::Email {
            let Some(base) = &self.public_url else {
                turn.events.push(Event::Survey {
                    detail: SurveyNote::NotStarted {
                        reason: "the deployment has no public_url for the survey's page".into(),
                    },
                });
                return Ok(());
            };
            let token = crate::secrets::hex(&crate::secrets::random_bytes::<32>());
            let link = format!("{}/survey/{token}", base.trim_end_matches('/'));
            let intro = data.intro.clone().unwrap_or_else(|| {
                "We would like to know what you thought of this conversation.".into()
            });
            let text = format!(
                "{intro}\n\nAnswer the survey here: {link}\n(The link works for {} hours.)",
                data.expires_after_hours
            );
            (vec![Outbound::Text { text }], Some(token), "email")
        } else {
            (data.opening(), None, "channel")
        };
        turn.events.push(Event::Survey {
            detail: SurveyNote::Started {
                survey: attached.survey_id,
                by: by.into(),
            },
        });
        for m in &say {
            turn.events.push(Event::MessageOut { message: m.clone() });
        }
        turn.outbound.extend(say);
        if token.is_none() {
            // from now on a customer's message may be an answer (set before the commit: the
            // worst it does is a read that finds nothing)
            self.surveys_in_channels
                .store(SOME, std::sync::atomic::Ordering::Release);
        }
        writes.push(SurveyWrite::Start {
            interaction_id: id,
            started_at: now,
            expires_at: now + data.expiry(),
            token_hash: token.as_deref().map(token_hash),
        });
        Ok(())
    }

    /// A customer's message to the survey that waits for it in the channel: the answer
    /// recorded in a turn of the closed interaction, with the next question (or the same one
    /// again with a hint, or the thanks); or, when it is no answer again, the survey given up.
    pub(crate) async fn survey_answer(
        &self,
        response: ResponseRow,
        m: &InboundMessage,
    ) -> Result<Answered> {
        let now = self.now();
        let given_up = |r: &ResponseRow| {
            Answered::GivenUp(SurveyWrite::Progress {
                id: r.id,
                status: ResponseStatus::Abandoned,
                question: r.question,
                attempts: r.attempts,
                answers: r.answers.clone(),
                at: now,
            })
        };
        let name = flow::effect::ObjectName::Entity {
            id: response.survey_id.to_string(),
        };
        let (Some((_, Some(data))), Some(row)) = (
            self.survey_named(&name).await?,
            self.store.interaction(response.interaction_id).await?,
        ) else {
            // the survey or the interaction is gone: the message is not for it
            return Ok(given_up(&response));
        };
        let Ok(state) = engine::load_state(&row.state) else {
            return Ok(given_up(&response));
        };
        let progress = Progress {
            question: response.question,
            attempts: response.attempts,
            answers: response.answers.clone(),
        };
        let key = data
            .questions
            .get(response.question as usize)
            .map(|q| q.key.clone())
            .unwrap_or_default();
        let mut events = vec![Event::MessageIn {
            text: m.message.text.clone(),
            choice: m.message.choice,
            attachments: m.message.attachments.len(),
            media: m.message.attachments.clone(),
        }];
        let (progress, say, status) = match data.answer(&progress, &m.message) {
            flow::surveys::Turn::GivenUp => return Ok(given_up(&response)),
            flow::surveys::Turn::Next {
                progress: next,
                say,
            } => {
                events.push(Event::Survey {
                    detail: if next.question > progress.question {
                        SurveyNote::Answered { question: key }
                    } else {
                        SurveyNote::NotAnAnswer { question: key }
                    },
                });
                (next, say, ResponseStatus::InProgress)
            }
            flow::surveys::Turn::Done { progress, say } => {
                events.push(Event::Survey {
                    detail: SurveyNote::Answered { question: key },
                });
                events.push(Event::Survey {
                    detail: SurveyNote::Completed,
                });
                (progress, say, ResponseStatus::Completed)
            }
        };
        for s in &say {
            events.push(Event::MessageOut { message: s.clone() });
        }
        let turn = Turn {
            events,
            outbound: say,
            ..Turn::default()
        };
        Ok(Answered::Turn(Box::new(SurveyTurn {
            row,
            state,
            turn,
            progress: SurveyWrite::Progress {
                id: response.id,
                status,
                question: progress.question,
                attempts: progress.attempts,
                answers: progress.answers,
                at: now,
            },
            now,
        })))
    }

    /// The survey a customer of an entry point is answering in the channel now. The store is
    /// asked only once a survey may be waiting in a channel (one found at the first ask, or one
    /// started since): a deployment that conducts none pays no read per new conversation.
    pub(crate) async fn survey_waiting(
        &self,
        ep: &EntryPoint,
        m: &InboundMessage,
    ) -> Result<Option<ResponseRow>> {
        use std::sync::atomic::Ordering;
        if m.message.email.is_some() || ep.channel == Channel::Email {
            return Ok(None);
        }
        let now = self.now();
        let known = match self.surveys_in_channels.load(Ordering::Acquire) {
            UNKNOWN => {
                let any = if self.store.surveys_waiting(now).await? {
                    SOME
                } else {
                    NONE
                };
                // a survey started meanwhile has set SOME: it stays
                match self.surveys_in_channels.compare_exchange(
                    UNKNOWN,
                    any,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    Ok(_) => any,
                    Err(now_known) => now_known,
                }
            }
            k => k,
        };
        if known == NONE {
            return Ok(None);
        }
        Ok(self.store.survey_waiting(ep.id, &m.customer, now).await?)
    }

    /// Survey responses, newest first.
    pub async fn survey_responses(
        &self,
        survey: Option<Uuid>,
        status: Option<ResponseStatus>,
        page: &PageRequest,
    ) -> Result<Page<Response>> {
        let now = self.now();
        if let Some(s) = survey {
            self.survey_object(s).await?;
        }
        let filter = ResponseFilter {
            survey_id: survey,
            status,
            now,
        };
        let p = self.store.survey_responses(&filter, page).await?;
        Ok(Page {
            items: p.items.into_iter().map(|r| Response::of(r, now)).collect(),
            next_after: p.next_after,
        })
    }

    async fn survey_object(&self, id: Uuid) -> Result<(flow::objects::BusinessObject, SurveyData)> {
        let name = flow::effect::ObjectName::Entity { id: id.to_string() };
        match self.survey_named(&name).await? {
            Some((object, Some(data))) => Ok((object, data)),
            Some((_, None)) => Err(ConversationError::Conflict(
                "survey_unreadable",
                format!("the data of survey {id} cannot be read"),
            )),
            None => Err(ConversationError::NotFound(format!("survey {id}"))),
        }
    }

    /// A page of a survey's responses as CSV lines (the header first when `after` is none:
    /// `id`, `interaction_id`, `customer_id`, `channel`, `status`, `started_at`,
    /// `completed_at`, then each question's key), and the cursor of the next page.
    pub async fn survey_export_page(
        &self,
        survey: Uuid,
        after: Option<Uuid>,
    ) -> Result<(Vec<u8>, Option<Uuid>)> {
        let (_, data) = self.survey_object(survey).await?;
        let now = self.now();
        let filter = ResponseFilter {
            survey_id: Some(survey),
            status: None,
            now,
        };
        let page = self
            .store
            .survey_responses(&filter, &PageRequest { limit: 500, after })
            .await?;
        let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
        let csv_error = |e: csv::Error| ConversationError::NotRecorded(e.to_string());
        if after.is_none() {
            let mut header = vec![
                "id",
                "interaction_id",
                "customer_id",
                "channel",
                "status",
                "started_at",
                "completed_at",
            ];
            header.extend(data.questions.iter().map(|q| q.key.as_str()));
            w.write_record(&header).map_err(csv_error)?;
        }
        let when = |t: Option<Timestamp>| t.map(|t| t.to_string()).unwrap_or_default();
        for r in &page.items {
            let mut record = vec![
                r.id.to_string(),
                r.interaction_id.to_string(),
                r.customer_id.map(|c| c.to_string()).unwrap_or_default(),
                r.channel.clone(),
                r.status_at(now).as_str().to_owned(),
                when(r.started_at),
                when(r.completed_at),
            ];
            record.extend(
                data.questions
                    .iter()
                    .map(|q| r.answers.get(&q.key).map(csv_cell).unwrap_or_default()),
            );
            w.write_record(&record).map_err(csv_error)?;
        }
        let bytes = w
            .into_inner()
            .map_err(|e| ConversationError::NotRecorded(e.to_string()))?;
        Ok((bytes, page.next_after))
    }

    /// The survey page of a link's token.
    pub async fn survey_page(&self, token: &str) -> Result<SurveyPage> {
        let not_found = || ConversationError::NotFound("this survey link".into());
        let response = self
            .store
            .survey_by_token(&token_hash(token))
            .await?
            .ok_or_else(not_found)?;
        let (object, survey) = self
            .survey_object(response.survey_id)
            .await
            .map_err(|_| not_found())?;
        Ok(SurveyPage {
            name: object.name,
            survey,
            status: response.status_at(self.now()),
        })
    }

    /// The answers given on a survey's page, `(question key, answer)` as the form sent them:
    /// every question answered, each as it takes answers (`invalid_answer` names the first that
    /// is not); taken once (`survey_closed` when answered already or expired).
    pub async fn answer_survey_page(
        &self,
        token: &str,
        fields: &[(String, String)],
    ) -> Result<SurveyPage> {
        let mut page = self.survey_page(token).await?;
        if page.status != ResponseStatus::InProgress {
            return Err(closed(page.status));
        }
        let answers = page
            .survey
            .answers_of_form(fields)
            .map_err(|why| ConversationError::Invalid("invalid_answer", why))?;
        let now = self.now();
        if !self
            .store
            .survey_page_answers(&token_hash(token), &answers, now)
            .await?
        {
            let again = self.survey_page(token).await?;
            return Err(closed(again.status));
        }
        page.status = ResponseStatus::Completed;
        Ok(page)
    }
}

fn closed(status: ResponseStatus) -> ConversationError {
    ConversationError::Conflict(
        "survey_closed",
        match status {
            ResponseStatus::Completed => "this survey was answered already".into(),
            ResponseStatus::Expired => "this survey link has expired".into(),
            other => format!("this survey is {}", other.as_str().replace('_', " ")),
        },
    )
}
