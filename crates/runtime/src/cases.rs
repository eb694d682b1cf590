//! Cases (seed 003 §5.1–5.4): the four case actions performed for a turn, and the cases API
//! (CRUD, filtered pages, the interactions a case was linked to).
//!
//! A case's fields are checked and put in canonical form by `flow::cases` against its case
//! type. A turn's case writes (a case created, changed, linked, unlinked) are committed with
//! the turn (`TurnWrite::case_writes`), so a crash never applies them twice; a later request
//! in the same turn sees them.

use flow::cases::{CaseTypeData, CaseView, limits};
use flow::catalogue::ObjectKind;
use flow::effect::{CaseOutcome, CaseRequest, ObjectName};
use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Map, Value};
use store::{CaseFilter, CaseRow, CaseWrite, Page, PageRequest};
use uuid::Uuid;

use crate::conversations::{Conversations, Result};
use crate::error::ConversationError;
use crate::maker::MakerError;

/// A case, as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Case {
    pub id: Uuid,
    pub reference: String,
    pub case_type_id: Uuid,
    pub title: String,
    pub status: String,
    pub fields: Map<String, Value>,
    pub customer_id: Option<Uuid>,
    pub revision: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl From<CaseRow> for Case {
    fn from(c: CaseRow) -> Self {
        Case {
            id: c.id,
            reference: c.reference,
            case_type_id: c.case_type_id,
            title: c.title,
            status: c.status,
            fields: c.fields,
            customer_id: c.customer_id,
            revision: c.revision,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// An interaction's link to a case.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CaseLinkView {
    pub interaction_id: Uuid,
    pub linked_at: Timestamp,
    /// None: linked now.
    pub unlinked_at: Option<Timestamp>,
}

/// A case to create through the API.
#[derive(Clone, Debug, Default)]
pub struct NewCase {
    pub case_type_id: Uuid,
    pub title: String,
    /// None: the type's first status that is not closed.
    pub status: Option<String>,
    pub fields: Map<String, Value>,
    pub customer_id: Option<Uuid>,
    /// None: the next `CS-` number.
    pub reference: Option<String>,
}

/// A change to a case through the API: what is given changes (a field given `null` is
/// emptied).
#[derive(Clone, Debug, Default)]
pub struct CaseChange {
    pub title: Option<String>,
    pub status: Option<String>,
    pub fields: Map<String, Value>,
}

/// A case type read from its business object.
struct CaseType {
    id: Uuid,
    reference: String,
    def: CaseTypeData,
}

/// 422 `invalid_case`: `field: why`.
fn invalid(field: &str, message: impl std::fmt::Display) -> ConversationError {
    ConversationError::Invalid("invalid_case", format!("{field}: {message}"))
}

/// A case title: trimmed, 1 to [`limits::TITLE`] characters.
fn check_title(title: &str) -> std::result::Result<String, String> {
    let t = title.trim();
    let n = t.chars().count();
    if n == 0 || n > limits::TITLE {
        return Err(format!(
            "a case title has 1 to {} characters",
            limits::TITLE
        ));
    }
    Ok(t.to_owned())
}

/// A reference given to a new case: 1 to [`limits::REFERENCE`] letters, digits, `-` or `_`,
/// not of the form the server gives (`CS-` and digits), so that a given one never takes a
/// number a routing's new case will take.
fn check_reference(reference: &str) -> std::result::Result<String, String> {
    let r = reference.trim();
    if r.is_empty()
        || r.len() > limits::REFERENCE
        || !r
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!(
            "a case reference has 1 to {} letters, digits, '-' or '_'",
            limits::REFERENCE
        ));
    }
    if r.len() > 3
        && r[..3].eq_ignore_ascii_case("CS-")
        && r[3..].chars().all(|c| c.is_ascii_digit())
    {
        return Err("references CS-<number> are the server's own: leave it out for one".into());
    }
    Ok(r.to_owned())
}

/// The latest pending version of the case that `is` picks, among a turn's writes: `Some(None)`
/// when the turn deleted it, `None` when the turn did not write it.
fn pending_case(pending: &[CaseWrite], is: impl Fn(&CaseRow) -> bool) -> Option<Option<CaseRow>> {
    let mut found = None;
    for w in pending {
        match w {
            CaseWrite::Insert(c) | CaseWrite::Update { case: c, .. } if is(c) => {
                found = Some(Some(c.clone()));
            }
            CaseWrite::Delete { id, .. } if matches!(&found, Some(Some(c)) if c.id == *id) => {
                found = Some(None);
            }
            _ => {}
        }
    }
    found
}

/// The interaction's case after a turn's writes: `Some(Some(id))` linked, `Some(None)`
/// unlinked, `None` when the turn did not change it.
fn pending_link(pending: &[CaseWrite], interaction: Uuid) -> Option<Option<Uuid>> {
    let mut link = None;
    for w in pending {
        match w {
            CaseWrite::Link {
                interaction_id,
                case_id,
                ..
            } if *interaction_id == interaction => link = Some(Some(*case_id)),
            CaseWrite::Unlink { interaction_id, .. } if *interaction_id == interaction => {
                link = Some(None)
            }
            _ => {}
        }
    }
    link
}

/// The interaction's customer (the system variable `customer.id`).
pub(crate) fn customer_of(state: &engine::State) -> Option<Uuid> {
    state
        .system
        .get("customer")
        .and_then(|c| c.get("id"))
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
}

impl Conversations {
    async fn case_type_named(&self, name: &ObjectName) -> Result<Option<CaseType>> {
        let Some(o) = self
            .maker()
            .object_named(ObjectKind::CaseType, name)
            .await?
        else {
            return Ok(None);
        };
        let def = serde_json::from_value(o.data)
            .map_err(|e| ConversationError::NotRecorded(format!("a stored case type: {e}")))?;
        Ok(Some(CaseType {
            id: o.id,
            reference: o.reference,
            def,
        }))
    }

    async fn case_type_of(&self, id: Uuid) -> Result<Option<CaseType>> {
        self.case_type_named(&ObjectName::Entity { id: id.to_string() })
            .await
    }

    /// The case with this reference, seen through a turn's pending writes.
    async fn case_by_reference(
        &self,
        reference: &str,
        pending: &[CaseWrite],
    ) -> Result<Option<CaseRow>> {
        if let Some(found) = pending_case(pending, |c| c.reference == reference) {
            return Ok(found);
        }
        let stored = self.store.case_by_reference(reference).await?;
        // a case the turn changed is its pending version (its reference may be another now)
        Ok(match stored {
            Some(c) => match pending_case(pending, |p| p.id == c.id) {
                Some(p) => p.filter(|p| p.reference == reference),
                None => Some(c),
            },
            None => None,
        })
    }

    /// The case with this id, seen through a turn's pending writes.
    async fn case_by_id(&self, id: Uuid, pending: &[CaseWrite]) -> Result<Option<CaseRow>> {
        if let Some(found) = pending_case(pending, |c| c.id == id) {
            return Ok(found);
        }
        Ok(self.store.case_by_id(id).await?)
    }

    /// The interaction's case now, seen through a turn's pending writes.
    async fn case_linked(
        &self,
        interaction: Uuid,
        pending: &[CaseWrite],
    ) -> Result<Option<CaseRow>> {
        match pending_link(pending, interaction) {
            Some(Some(id)) => self.case_by_id(id, pending).await,
            Some(None) => Ok(None),
            None => match self.store.case_of_interaction(interaction).await? {
                Some(c) => self.case_by_id(c.id, pending).await,
                None => Ok(None),
            },
        }
    }

    fn view(case: &CaseRow, case_type: &str) -> CaseView {
        CaseView {
            id: case.id.to_string(),
            reference: case.reference.clone(),
            title: case.title.clone(),
            status: case.status.clone(),
            case_type: case_type.to_owned(),
            fields: case.fields.clone(),
        }
    }

    async fn view_of(&self, case: &CaseRow) -> Result<CaseView> {
        let reference = self
            .case_type_of(case.case_type_id)
            .await?
            .map(|t| t.reference)
            .unwrap_or_default();
        Ok(Self::view(case, &reference))
    }

    /// A new case's reference: `CS-` and the next number.
    async fn next_reference(&self) -> Result<std::result::Result<String, String>> {
        let n = self.store.case_number().await?;
        if n > limits::CASES {
            return Ok(Err(format!(
                "the deployment has created its largest number of cases ({})",
                limits::CASES
            )));
        }
        Ok(Ok(format!("CS-{n:06}")))
    }

    /// Why the case cannot be linked to one more interaction (at most [`limits::LINKS`]).
    async fn links_full(&self, case: Uuid, pending: &[CaseWrite]) -> Result<Option<String>> {
        let stored = self.store.case_link_count(case).await?;
        let added = pending
            .iter()
            .filter(|w| matches!(w, CaseWrite::Link { case_id, .. } if *case_id == case))
            .count() as u64;
        Ok((stored + added >= limits::LINKS).then(|| {
            format!(
                "the case is linked to its largest number of interactions ({})",
                limits::LINKS
            )
        }))
    }

    /// Performs a case action's request for a turn: reads now, writes added to `pending`
    /// (committed with the turn), the history told what was done.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn case_request(
        &self,
        request: &CaseRequest,
        interaction: Uuid,
        customer: Option<Uuid>,
        preview: bool,
        pending: &mut Vec<CaseWrite>,
        turn: &mut engine::Turn,
        now: Timestamp,
    ) -> Result<CaseOutcome> {
        let outcome = self
            .perform_case(request, interaction, customer, pending, now)
            .await?;
        let op = match request {
            CaseRequest::Associate { .. } => "associate",
            CaseRequest::Dissociate => "dissociate",
            CaseRequest::Create { .. } => "create",
            CaseRequest::Modify { .. } => "modify",
        };
        let (case, error) = match &outcome {
            CaseOutcome::Linked { case } | CaseOutcome::Modified { case, .. } => {
                (Some(case.reference.clone()), None)
            }
            CaseOutcome::Dissociated => (None, None),
            CaseOutcome::NotFound { reason } | CaseOutcome::Error { reason } => {
                (None, Some(reason.clone()))
            }
        };
        let wrote = error.is_none();
        turn.events.push(engine::Event::Channel {
            detail: engine::ChannelNote::Case {
                op: op.into(),
                case,
                written: !(preview && wrote),
                error,
            },
        });
        Ok(outcome)
    }

    async fn perform_case(
        &self,
        request: &CaseRequest,
        interaction: Uuid,
        customer: Option<Uuid>,
        pending: &mut Vec<CaseWrite>,
        now: Timestamp,
    ) -> Result<CaseOutcome> {
        let not_found = |reason: String| CaseOutcome::NotFound { reason };
        let error = |reason: String| CaseOutcome::Error { reason };
        match request {
            CaseRequest::Associate { reference } => {
                let case = match reference {
                    Some(r) => match self.case_by_reference(r, pending).await? {
                        Some(c) => c,
                        None => return Ok(not_found(format!("no case has the reference {r}"))),
                    },
                    None => match self.customer_latest_open(customer, pending).await? {
                        Ok(c) => c,
                        Err(why) => return Ok(not_found(why)),
                    },
                };
                let current = self.case_linked(interaction, pending).await?;
                if current.as_ref().map(|c| c.id) != Some(case.id) {
                    if let Some(why) = self.links_full(case.id, pending).await? {
                        return Ok(error(why));
                    }
                    pending.push(CaseWrite::Link {
                        interaction_id: interaction,
                        case_id: case.id,
                        at: now,
                    });
                }
                Ok(CaseOutcome::Linked {
                    case: self.view_of(&case).await?,
                })
            }
            CaseRequest::Dissociate => {
                if self.case_linked(interaction, pending).await?.is_some() {
                    pending.push(CaseWrite::Unlink {
                        interaction_id: interaction,
                        at: now,
                    });
                }
                Ok(CaseOutcome::Dissociated)
            }
            CaseRequest::Create { case_type, title } => {
                let Some(t) = self.case_type_named(case_type).await? else {
                    return Ok(not_found("no such case type".into()));
                };
                let title = match check_title(title) {
                    Ok(t) => t,
                    Err(why) => return Ok(error(why)),
                };
                let reference = match self.next_reference().await? {
                    Ok(r) => r,
                    Err(why) => return Ok(error(why)),
                };
                let case = CaseRow {
                    id: Uuid::now_v7(),
                    reference,
                    case_type_id: t.id,
                    title,
                    status: t.def.opening_status().to_owned(),
                    fields: Map::new(),
                    customer_id: customer,
                    revision: 1,
                    created_at: now,
                    updated_at: now,
                };
                pending.push(CaseWrite::Insert(case.clone()));
                pending.push(CaseWrite::Link {
                    interaction_id: interaction,
                    case_id: case.id,
                    at: now,
                });
                Ok(CaseOutcome::Linked {
                    case: Self::view(&case, &t.reference),
                })
            }
            CaseRequest::Modify { reference, values } => {
                let linked = self.case_linked(interaction, pending).await?;
                let case = match reference {
                    Some(r) => match self.case_by_reference(r, pending).await? {
                        Some(c) => c,
                        None => return Ok(not_found(format!("no case has the reference {r}"))),
                    },
                    None => match &linked {
                        Some(c) => c.clone(),
                        None => return Ok(not_found("the interaction has no case".into())),
                    },
                };
                let Some(t) = self.case_type_of(case.case_type_id).await? else {
                    return Ok(error("the case's type no longer exists".into()));
                };
                let change = CaseChange {
                    title: values
                        .iter()
                        .rev()
                        .find(|(f, _)| f == "title")
                        .map(|(_, v)| v.clone()),
                    status: values
                        .iter()
                        .rev()
                        .find(|(f, _)| f == "status")
                        .map(|(_, v)| v.clone()),
                    fields: values
                        .iter()
                        .filter(|(f, _)| f != "title" && f != "status")
                        .map(|(f, v)| (f.clone(), Value::String(v.clone())))
                        .collect(),
                };
                let next = match Self::changed(&case, &t.def, &change) {
                    Ok(next) => next,
                    Err(why) => return Ok(error(why)),
                };
                let is_linked = linked.as_ref().is_some_and(|l| l.id == case.id);
                let shown = match next {
                    Some(mut next) => {
                        next.revision = case.revision + 1;
                        next.updated_at = now;
                        pending.push(CaseWrite::Update {
                            case: next.clone(),
                            expected_revision: case.revision,
                        });
                        next
                    }
                    None => case,
                };
                Ok(CaseOutcome::Modified {
                    case: Self::view(&shown, &t.reference),
                    linked: is_linked,
                })
            }
        }
    }

    /// The customer's most recent case that is not closed, among their last
    /// [`limits::CUSTOMER_LATEST`] (cases the turn created first).
    async fn customer_latest_open(
        &self,
        customer: Option<Uuid>,
        pending: &[CaseWrite],
    ) -> Result<std::result::Result<CaseRow, String>> {
        let Some(customer) = customer else {
            return Ok(Err("the interaction has no customer".into()));
        };
        let mut latest: Vec<CaseRow> = pending
            .iter()
            .rev()
            .filter_map(|w| match w {
                CaseWrite::Insert(c) if c.customer_id == Some(customer) => Some(c.clone()),
                _ => None,
            })
            .collect();
        let stored = self
            .store
            .cases(
                &CaseFilter {
                    customer_id: Some(customer),
                    ..CaseFilter::default()
                },
                &PageRequest {
                    limit: limits::CUSTOMER_LATEST,
                    after: None,
                },
            )
            .await?;
        latest.extend(stored.items);
        latest.truncate(limits::CUSTOMER_LATEST as usize);
        for c in latest {
            let Some(now) = self.case_by_id(c.id, pending).await? else {
                continue;
            };
            let closed = self
                .case_type_of(now.case_type_id)
                .await?
                .and_then(|t| t.def.status(&now.status).map(|s| s.closed))
                .unwrap_or(false);
            if !closed {
                return Ok(Ok(now));
            }
        }
        Ok(Err(format!(
            "the customer has no open case among their last {}",
            limits::CUSTOMER_LATEST
        )))
    }

    /// The case with `change` applied, checked against its type (`None`: nothing changes);
    /// `Err` says why it cannot be.
    fn changed(
        case: &CaseRow,
        def: &CaseTypeData,
        change: &CaseChange,
    ) -> std::result::Result<Option<CaseRow>, String> {
        let mut next = case.clone();
        if let Some(title) = &change.title {
            next.title = check_title(title)?;
        }
        if let Some(status) = &change.status {
            next.status = match def.status(status) {
                Some(s) => s.name.clone(),
                None => {
                    return Err(format!(
                        "the case type has no status '{status}' (it has: {})",
                        def.statuses
                            .iter()
                            .map(|s| s.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
            };
        }
        let fields = def.check_fields(&change.fields).map_err(|e| e.message)?;
        for (name, v) in fields {
            if v.is_null() {
                next.fields.remove(&name);
            } else {
                next.fields.insert(name, v);
            }
        }
        Ok((next != *case).then_some(next))
    }

    // ---- the cases API ----

    /// Cases, newest first.
    pub async fn cases(&self, filter: &CaseFilter, page: &PageRequest) -> Result<Page<Case>> {
        let p = self.store.cases(filter, page).await?;
        Ok(Page {
            items: p.items.into_iter().map(Case::from).collect(),
            next_after: p.next_after,
        })
    }

    /// One case.
    pub async fn case(&self, id: Uuid) -> Result<Case> {
        self.stored_case(id).await.map(Case::from)
    }

    async fn stored_case(&self, id: Uuid) -> Result<CaseRow> {
        self.store
            .case_by_id(id)
            .await?
            .ok_or_else(|| ConversationError::NotFound(format!("case {id}")))
    }

    /// Creates a case (not linked to any interaction).
    pub async fn create_case(&self, new: NewCase) -> Result<Case> {
        let t = self
            .case_type_of(new.case_type_id)
            .await?
            .ok_or_else(|| invalid("case_type_id", "no such case type"))?;
        let title = check_title(&new.title).map_err(|e| invalid("title", e))?;
        let status =
            match &new.status {
                Some(s) => t.def.status(s).map(|s| s.name.clone()).ok_or_else(|| {
                    invalid("status", format!("the case type has no status '{s}'"))
                })?,
                None => t.def.opening_status().to_owned(),
            };
        let mut fields = t
            .def
            .check_fields(&new.fields)
            .map_err(|e| invalid("fields", e.message))?;
        fields.retain(|_, v| !v.is_null());
        if let Some(c) = new.customer_id
            && self.store.customer(c).await?.is_none()
        {
            return Err(invalid("customer_id", "no such customer"));
        }
        let reference = match &new.reference {
            Some(r) => check_reference(r).map_err(|e| invalid("reference", e))?,
            None => self
                .next_reference()
                .await?
                .map_err(|why| ConversationError::Conflict("cases_full", why))?,
        };
        let now = self.now();
        let case = CaseRow {
            id: Uuid::now_v7(),
            reference,
            case_type_id: t.id,
            title,
            status,
            fields,
            customer_id: new.customer_id,
            revision: 1,
            created_at: now,
            updated_at: now,
        };
        self.write_cases(&[CaseWrite::Insert(case.clone())]).await?;
        Ok(case.into())
    }

    /// Changes a case, if still at `if_match` when given.
    pub async fn update_case(
        &self,
        id: Uuid,
        change: &CaseChange,
        if_match: Option<u64>,
    ) -> Result<Case> {
        let current = self.stored_case(id).await?;
        if let Some(expected) = if_match
            && expected != current.revision
        {
            return Err(MakerError::PreconditionFailed {
                current: current.revision,
            }
            .into());
        }
        let t = self
            .case_type_of(current.case_type_id)
            .await?
            .ok_or_else(|| invalid("case_type_id", "the case's type no longer exists"))?;
        let Some(mut next) =
            Self::changed(&current, &t.def, change).map_err(|e| invalid("fields", e))?
        else {
            return Ok(current.into());
        };
        next.revision = current.revision + 1;
        next.updated_at = self.now();
        self.write_cases(&[CaseWrite::Update {
            case: next.clone(),
            expected_revision: current.revision,
        }])
        .await
        .map_err(|e| e.stale_after(current.revision))?;
        Ok(next.into())
    }

    /// Removes a case and its links (the interactions stay, their history too).
    pub async fn delete_case(&self, id: Uuid) -> Result<()> {
        match self
            .store
            .case_write(&[CaseWrite::Delete {
                id,
                expected_revision: None,
            }])
            .await
        {
            Ok(()) => Ok(()),
            Err(store::StoreError::Conflict) => {
                Err(ConversationError::NotFound(format!("case {id}")))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The interactions a case was linked to, in the order they were, after the first
    /// `offset` (at most `limit`).
    pub async fn case_interactions(
        &self,
        id: Uuid,
        offset: u64,
        limit: u32,
    ) -> Result<Vec<CaseLinkView>> {
        self.stored_case(id).await?;
        Ok(self
            .store
            .case_links(id, offset, limit)
            .await?
            .into_iter()
            .map(|l| CaseLinkView {
                interaction_id: l.interaction_id,
                linked_at: l.linked_at,
                unlinked_at: l.unlinked_at,
            })
            .collect())
    }

    async fn write_cases(&self, writes: &[CaseWrite]) -> Result<()> {
        // a reference given through the API is never of the server's form, so a taken one is
        // always the caller's
        match self.store.case_write(writes).await {
            Ok(()) => Ok(()),
            Err(store::StoreError::Unique(_)) => Err(ConversationError::Conflict(
                "reference_taken",
                "another case has this reference".into(),
            )),
            Err(e) => Err(e.into()),
        }
    }
}
