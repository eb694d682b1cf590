//! CRM directories and cards (seed 003 §5): the four CRM actions performed for a turn, and a
//! customer's cards.
//!
//! A card is a row of the custom database its directory (or CRM V2 object) names, so it is
//! searched, checked, created, imported and exported as rows are; a card made by a routing is a
//! row write of the turn (`TurnWrite::db_writes`), and its link to the interaction and customer
//! a `TurnWrite::card_links` entry in the same savepoint — a crash never makes or links a card
//! twice.
//!
//! A directory connected to Salesforce keeps its cards there: they are records of its object
//! (`Contact`, or a CRM V2 action's object), found by a SOQL query of the assertions (API names,
//! escaped literals) and made by sObject create; the link (with the record's fields as read) is
//! a `TurnWrite::record_links` entry. Salesforce has no idempotency key for a creation: a turn
//! performed again after a crash may make a second record, as *Email to a Salesforce Query*.

use flow::catalogue::ObjectKind;
use flow::crm::{CrmDirectoryData, CrmScenarioData, limits};
use flow::database::Search;
use flow::effect::{
    CardView, CrmOutcome, CrmRequest, DatabaseOutcome, DatabaseRequest, ObjectName,
};
use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Map, Value};
use store::{CardLink, DbRow, DbWrite, PageRequest, RecordLink};
use uuid::Uuid;

use crate::conversations::{Conversations, Result};
use crate::databases::Database;

/// A customer's card, as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Card {
    /// A row's id, or a Salesforce record's.
    pub id: String,
    pub directory_id: Uuid,
    pub directory: String,
    pub object: Option<String>,
    /// None for a Salesforce record.
    pub database_id: Option<Uuid>,
    pub fields: Map<String, Value>,
    pub linked_at: Timestamp,
    pub interaction_id: Uuid,
}

fn unavailable(reason: impl Into<String>) -> CrmOutcome {
    CrmOutcome::Unavailable {
        reason: reason.into(),
    }
}

/// Where a turn's CRM requests write: cards made (rows), their links, Salesforce records'
/// links.
pub(crate) struct Links<'a> {
    pub db_writes: &'a mut Vec<DbWrite>,
    pub card_links: &'a mut Vec<CardLink>,
    pub record_links: &'a mut Vec<RecordLink>,
}

/// What a CRM request works on: the directory, its object and the database of its cards.
struct Place {
    directory_id: Uuid,
    directory: String,
    object: Option<String>,
    db: Database,
}

impl Conversations {
    /// The directory named, its object's database (`Err`: why it cannot be searched).
    async fn place(
        &self,
        directory: &ObjectName,
        object: Option<&str>,
    ) -> Result<std::result::Result<Place, String>> {
        let Some(o) = self
            .maker()
            .object_named(ObjectKind::CrmDirectory, directory)
            .await?
        else {
            return Ok(Err("no such CRM directory".into()));
        };
        let Ok(data) = serde_json::from_value::<CrmDirectoryData>(o.data.clone()) else {
            return Ok(Err("the directory's data cannot be read".into()));
        };
        let reference = match data.database_of(object) {
            Ok(r) => r.to_owned(),
            Err(why) => return Ok(Err(why)),
        };
        let Some(db) = self
            .database_named(&ObjectName::Reference {
                reference: reference.clone(),
            })
            .await?
        else {
            return Ok(Err(format!(
                "the directory's database {reference} does not exist"
            )));
        };
        let object = object.and_then(|name| {
            data.objects
                .iter()
                .find(|o| o.name.eq_ignore_ascii_case(name.trim()))
                .map(|o| o.name.clone())
        });
        Ok(Ok(Place {
            directory_id: o.id,
            directory: o.reference,
            object,
            db,
        }))
    }

    /// Performs a CRM action's request; cards made and links go with the turn (a preview
    /// makes no Salesforce record).
    pub(crate) async fn crm_request(
        &self,
        state: &engine::State,
        request: &CrmRequest,
        links: Links<'_>,
        preview: bool,
        now: Timestamp,
    ) -> Result<CrmOutcome> {
        let Links {
            db_writes,
            card_links,
            record_links,
        } = links;
        let (directory, object, wanted) = match request {
            CrmRequest::Scenario { crm, scenario } => {
                return self.scenario(crm, scenario.as_ref()).await;
            }
            CrmRequest::Associate {
                directory,
                object,
                any,
                assertions,
                create,
            } => (
                directory,
                object,
                Wanted::Find {
                    any: *any,
                    assertions,
                    create: *create,
                },
            ),
            CrmRequest::Create {
                directory,
                object,
                values,
                associate,
            } => (
                directory,
                object,
                Wanted::Make {
                    values,
                    associate: *associate,
                },
            ),
        };
        if card_links.len() + record_links.len() >= limits::LINKS_PER_INTERACTION {
            return Ok(CrmOutcome::Error {
                reason: format!(
                    "an interaction links at most {} cards in a turn",
                    limits::LINKS_PER_INTERACTION
                ),
            });
        }
        if let Some(o) = self
            .maker()
            .object_named(ObjectKind::CrmDirectory, directory)
            .await?
            && let Some(link) = serde_json::from_value::<CrmDirectoryData>(o.data.clone())
                .ok()
                .and_then(|d| d.salesforce)
        {
            let sobject = object
                .as_deref()
                .map(str::trim)
                .unwrap_or(&link.cards)
                .to_owned();
            let record = self
                .salesforce_card(&o, &sobject, &link.fields, &wanted, preview)
                .await?;
            let (outcome, linked) = match record {
                Ok((view, created, link)) => (
                    CrmOutcome::Card {
                        card: view,
                        created,
                    },
                    link,
                ),
                Err(outcome) => (outcome, None),
            };
            let interaction = state.interaction_id();
            if let Some(fields) = linked
                && let CrmOutcome::Card { card, .. } = &outcome
                && !interaction.is_nil()
                && !record_links
                    .iter()
                    .any(|l| l.directory_id == o.id && l.record_id == card.id)
            {
                record_links.push(RecordLink {
                    record_id: card.id.clone(),
                    object: sobject,
                    directory_id: o.id,
                    interaction_id: interaction,
                    customer_id: crate::cases::customer_of(state),
                    fields,
                    linked_at: now,
                });
            }
            return Ok(outcome);
        }
        let place = match self.place(directory, object.as_deref()).await? {
            Ok(p) => p,
            Err(why) => return Ok(unavailable(why)),
        };
        let interaction = state.interaction_id();
        let link = |card: &DbRow, links: &mut Vec<CardLink>| {
            if !interaction.is_nil() && !links.iter().any(|l| l.card_id == card.id) {
                links.push(CardLink {
                    card_id: card.id,
                    database_id: place.db.id,
                    directory_id: place.directory_id,
                    object: place.object.clone(),
                    interaction_id: interaction,
                    customer_id: crate::cases::customer_of(state),
                    linked_at: now,
                });
            }
        };
        let (outcome, linked) = match wanted {
            Wanted::Find {
                any,
                assertions,
                create,
            } => {
                if let Some((missing, _)) = assertions
                    .iter()
                    .find(|(f, _)| place.db.def.column(f).is_none())
                {
                    return Ok(unavailable(format!(
                        "the directory's cards have no field '{missing}'"
                    )));
                }
                let search = place.db.def.search(assertions, any).unwrap_or(Search {
                    terms: Vec::new(),
                    any: false,
                });
                let found = self.matching(&place.db, &search, 2, &[db_writes]).await?;
                match found.as_slice() {
                    [card] => (
                        CrmOutcome::Card {
                            card: place.view(card),
                            created: false,
                        },
                        Some(card.clone()),
                    ),
                    [] if create => self.make_card(&place, assertions, db_writes, now).await?,
                    [] => (CrmOutcome::NotFound, None),
                    _ => (CrmOutcome::Several, None),
                }
            }
            Wanted::Make { values, associate } => {
                let (outcome, made) = self.make_card(&place, values, db_writes, now).await?;
                (outcome, made.filter(|_| associate))
            }
        };
        if let Some(card) = &linked {
            link(card, card_links);
        }
        Ok(outcome)
    }

    /// A CRM request on a directory connected to Salesforce: the card (its view, whether it
    /// was made, and its fields when it is to be linked), or the outcome that is none. A search
    /// finds at most two records (two: *Several*); Salesforce unreachable or refusing the query
    /// means the directory could not be searched; a record it refuses to make is *Error*.
    async fn salesforce_card(
        &self,
        directory: &flow::objects::BusinessObject,
        sobject: &str,
        also: &[String],
        wanted: &Wanted<'_>,
        preview: bool,
    ) -> Result<std::result::Result<(CardView, bool, Option<Map<String, Value>>), CrmOutcome>> {
        let view = |record: &Map<String, Value>| {
            let id = record
                .get("Id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let mut fields = record.clone();
            fields.retain(|k, v| k != "Id" && !v.is_null());
            (
                CardView {
                    id,
                    directory: directory.reference.clone(),
                    object: Some(sobject.to_owned()),
                    fields: fields.clone(),
                },
                fields,
            )
        };
        let (client, session, version) = match self.salesforce_session(directory).await? {
            Ok(s) => s,
            Err(why) => return Ok(Err(unavailable(why))),
        };
        let make = |values: &[(String, String)]| {
            let mut fields = Map::new();
            for (f, v) in values.iter().filter(|(_, v)| !v.is_empty()) {
                fields.insert(f.clone(), Value::String(v.clone()));
            }
            fields
        };
        let create = |fields: Map<String, Value>| {
            let (client, session, version) = (&client, &session, &version);
            async move {
                if preview {
                    return Err(CrmOutcome::Error {
                        reason: "a preview creates no Salesforce record".into(),
                    });
                }
                if let Some(bad) = fields
                    .keys()
                    .find(|f| !channels::salesforce::is_api_name(f))
                {
                    return Err(unavailable(format!(
                        "'{bad}' is not a Salesforce field name"
                    )));
                }
                match channels::salesforce::create(client, session, version, sobject, &fields).await
                {
                    Ok(id) => {
                        let mut record = fields;
                        record.insert("Id".into(), Value::String(id));
                        Ok(record)
                    }
                    Err(e) => Err(CrmOutcome::Error { reason: e.reason }),
                }
            }
        };
        Ok(match wanted {
            Wanted::Find {
                any,
                assertions,
                create: make_one,
            } => {
                let soql =
                    match channels::salesforce::select_where(sobject, also, assertions, *any, 2) {
                        Ok(q) => q,
                        Err(why) => return Ok(Err(unavailable(why))),
                    };
                let found =
                    match channels::salesforce::query(&client, &session, &version, &soql).await {
                        Ok(r) => r,
                        Err(e) => return Ok(Err(unavailable(e.reason))),
                    };
                match found.as_slice() {
                    [record] => {
                        let (card, fields) = view(record);
                        Ok((card, false, Some(fields)))
                    }
                    [] if *make_one => create(make(assertions)).await.map(|record| {
                        let (card, fields) = view(&record);
                        (card, true, Some(fields))
                    }),
                    [] => Err(CrmOutcome::NotFound),
                    _ => Err(CrmOutcome::Several),
                }
            }
            Wanted::Make { values, associate } => create(make(values)).await.map(|record| {
                let (card, fields) = view(&record);
                (card, true, associate.then_some(fields))
            }),
        })
    }

    /// A card made of `values`, checked as the database checks a row; the row when made.
    async fn make_card(
        &self,
        place: &Place,
        values: &[(String, String)],
        db_writes: &mut Vec<DbWrite>,
        now: Timestamp,
    ) -> Result<(CrmOutcome, Option<DbRow>)> {
        let insert = DatabaseRequest::Insert {
            database: ObjectName::Entity {
                id: place.db.id.to_string(),
            },
            values: values.to_vec(),
        };
        Ok(
            match self.perform(&place.db, &insert, db_writes, now).await? {
                DatabaseOutcome::Written { .. } => match db_writes.last() {
                    Some(DbWrite::Insert { row, .. }) => (
                        CrmOutcome::Card {
                            card: place.view(row),
                            created: true,
                        },
                        Some(row.clone()),
                    ),
                    _ => (
                        CrmOutcome::Error {
                            reason: "the card was not made".into(),
                        },
                        None,
                    ),
                },
                DatabaseOutcome::ColumnsNotFound { columns } => (
                    unavailable(format!(
                        "the directory's cards have no field {}",
                        columns.join(", ")
                    )),
                    None,
                ),
                DatabaseOutcome::Error { reason } => (CrmOutcome::Error { reason }, None),
                other => (
                    CrmOutcome::Error {
                        reason: format!("the card was not made: {other:?}"),
                    },
                    None,
                ),
            },
        )
    }

    /// A CRM V2 scenario: the one named (of that CRM), else the CRM's default one.
    async fn scenario(&self, crm: &ObjectName, named: Option<&ObjectName>) -> Result<CrmOutcome> {
        let Some(directory) = self
            .maker()
            .object_named(ObjectKind::CrmDirectory, crm)
            .await?
        else {
            return Ok(unavailable("no such CRM"));
        };
        let read = |o: &flow::objects::BusinessObject| {
            serde_json::from_value::<CrmScenarioData>(o.data.clone()).ok()
        };
        let scenario = match named {
            Some(name) => self
                .maker()
                .object_named(ObjectKind::CrmScenario, name)
                .await?
                .as_ref()
                .and_then(read)
                .filter(|s| s.crm.eq_ignore_ascii_case(&directory.reference)),
            None => {
                let mut after = None;
                // a deployment holds at most 10 000 objects of a kind: read by pages
                loop {
                    let page = self
                        .maker()
                        .objects(ObjectKind::CrmScenario, &PageRequest { limit: 500, after })
                        .await?;
                    let found =
                        page.items.iter().filter_map(read).find(|s| {
                            s.default && s.crm.eq_ignore_ascii_case(&directory.reference)
                        });
                    if found.is_some() || page.next_after.is_none() {
                        break found;
                    }
                    after = page.next_after;
                }
            }
        };
        Ok(match scenario {
            Some(s) => CrmOutcome::Scenario {
                object: s.object,
                any: !s.all,
                assertions: s
                    .assertions
                    .into_iter()
                    .map(|a| (a.field, a.value))
                    .collect(),
            },
            None if named.is_some() => unavailable("no such scenario of this CRM"),
            None => unavailable("the CRM has no default scenario"),
        })
    }

    /// A customer's cards, most recently linked first (at most 200): those of Switchyard's
    /// directories with their fields as they are now (a card deleted since is left out), the
    /// Salesforce records with their fields as read when linked.
    pub async fn customer_cards(&self, customer: Uuid) -> Result<Vec<Card>> {
        self.customer(customer).await?;
        let links = self.store.customer_cards(customer, 200).await?;
        let records = self.store.customer_records(customer, 200).await?;
        let mut out = Vec::with_capacity(links.len());
        // each directory read once, however many of its cards the customer has
        let mut directories: std::collections::HashMap<Uuid, String> = Default::default();
        for l in links {
            let Some(row) = self.store.db_row(l.database_id, l.card_id).await? else {
                continue;
            };
            let directory = match directories.get(&l.directory_id) {
                Some(r) => r.clone(),
                None => {
                    let name = ObjectName::Entity {
                        id: l.directory_id.to_string(),
                    };
                    let reference = self
                        .maker()
                        .object_named(ObjectKind::CrmDirectory, &name)
                        .await?
                        .map(|o| o.reference)
                        .unwrap_or_default();
                    directories.insert(l.directory_id, reference.clone());
                    reference
                }
            };
            out.push(Card {
                id: l.card_id.to_string(),
                directory_id: l.directory_id,
                directory,
                object: l.object,
                database_id: Some(l.database_id),
                fields: row.values,
                linked_at: l.linked_at,
                interaction_id: l.interaction_id,
            });
        }
        for r in records {
            let name = ObjectName::Entity {
                id: r.directory_id.to_string(),
            };
            let directory = match directories.get(&r.directory_id) {
                Some(d) => d.clone(),
                None => self
                    .maker()
                    .object_named(ObjectKind::CrmDirectory, &name)
                    .await?
                    .map(|o| o.reference)
                    .unwrap_or_default(),
            };
            directories.insert(r.directory_id, directory.clone());
            out.push(Card {
                id: r.record_id,
                directory_id: r.directory_id,
                directory,
                object: Some(r.object),
                database_id: None,
                fields: r.fields,
                linked_at: r.linked_at,
                interaction_id: r.interaction_id,
            });
        }
        // most recently linked first, whichever kind
        out.sort_by_key(|c| std::cmp::Reverse(c.linked_at));
        out.truncate(200);
        Ok(out)
    }
}

/// What an association or a creation wants.
enum Wanted<'a> {
    Find {
        any: bool,
        assertions: &'a [(String, String)],
        create: bool,
    },
    Make {
        values: &'a [(String, String)],
        associate: bool,
    },
}

impl Place {
    fn view(&self, card: &DbRow) -> CardView {
        CardView {
            id: card.id.to_string(),
            directory: self.directory.clone(),
            object: self.object.clone(),
            fields: card.values.clone(),
        }
    }
}
