//! Business objects through the Maker: checked fields and data, unique references per kind,
//! optimistic concurrency, and a new generation for running interactions after each change.

use flow::catalogue::ObjectKind;
use flow::objects::{self, BusinessObject};
use flow::{FieldError, model};
use serde_json::Value;
use store::{ObjectWrite, Page, PageRequest, StoreError};
use uuid::Uuid;

use crate::maker::{Maker, MakerError, Result};

/// Fields of a business object; `None` keeps the current value.
#[derive(Clone, Debug, Default)]
pub struct ObjectFields {
    pub reference: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub data: Option<Value>,
    /// The write-only credential, already sealed: `Some(None)` removes it.
    pub secret: Option<Option<String>>,
    /// The write-only webhook secret (payment modules), already sealed: `Some(None)` removes
    /// it.
    pub webhook_secret: Option<Option<String>>,
}

fn taken(e: StoreError, reference: &str) -> MakerError {
    match e {
        StoreError::Unique(_) => MakerError::ReferenceTaken(reference.to_owned()),
        other => other.into(),
    }
}

/// Most rows a refused change of a database's columns lists.
const ROWS_REFUSED_SHOWN: usize = 20;

impl Maker {
    /// A database's new definition when its columns change (its rows must then follow).
    fn new_columns(
        kind: ObjectKind,
        current: &BusinessObject,
        next: &BusinessObject,
    ) -> Option<flow::database::DatabaseData> {
        if kind != ObjectKind::Database || current.data == next.data {
            return None;
        }
        serde_json::from_value(next.data.clone()).ok()
    }

    fn apply_fields(kind: ObjectKind, o: &mut BusinessObject, f: ObjectFields) -> Result<()> {
        if let Some(r) = f.reference {
            o.reference = model::check_reference(&r)?;
            objects::check_kind_reference(kind, &o.reference)?;
        }
        if let Some(n) = f.name {
            o.name = model::check_name("name", &n)?;
        }
        if let Some(d) = f.description {
            o.description = model::check_description(&d)?;
        }
        if let Some(d) = f.data {
            o.data = objects::check_data(kind, &d)?;
        }
        if let Some(secret) = f.secret {
            if secret.is_some() && !objects::takes_secret(kind) {
                return Err(FieldError {
                    field: "secret",
                    message: format!("a {} has no secret", kind.label()),
                }
                .into());
            }
            o.secret = secret;
        }
        if let Some(secret) = f.webhook_secret {
            if secret.is_some() && !objects::takes_webhook_secret(kind) {
                return Err(FieldError {
                    field: "webhook_secret",
                    message: format!("a {} has no webhook secret", kind.label()),
                }
                .into());
            }
            o.webhook_secret = secret;
        }
        Ok(())
    }

    pub async fn create_object(&self, kind: ObjectKind, f: ObjectFields) -> Result<BusinessObject> {
        let (Some(reference), Some(name)) = (f.reference.clone(), f.name.clone()) else {
            return Err(FieldError {
                field: "reference",
                message: "reference and name are required".into(),
            }
            .into());
        };
        if self.store().count_objects(kind).await? >= objects::limits::OBJECTS_PER_KIND {
            return Err(MakerError::Limit(format!(
                "at most {} objects of a kind",
                objects::limits::OBJECTS_PER_KIND
            )));
        }
        let now = self.clock().now();
        let mut o = BusinessObject {
            id: Uuid::now_v7(),
            kind,
            reference,
            name,
            description: String::new(),
            data: Value::Null,
            secret: None,
            webhook_secret: None,
            revision: 1,
            created_at: now,
            updated_at: now,
        };
        let data = f.data.clone().unwrap_or(Value::Null);
        Self::apply_fields(
            kind,
            &mut o,
            ObjectFields {
                data: Some(data),
                ..f
            },
        )?;
        self.check_links(kind, &o.data).await?;
        self.store()
            .write_object(ObjectWrite::Insert(o.clone()))
            .await
            .map_err(|e| taken(e, &o.reference))?;
        self.bump();
        Ok(o)
    }

    pub async fn objects(
        &self,
        kind: ObjectKind,
        page: &PageRequest,
    ) -> Result<Page<BusinessObject>> {
        Ok(self.store().objects(kind, page).await?)
    }

    pub async fn object(&self, kind: ObjectKind, id: Uuid) -> Result<BusinessObject> {
        self.store()
            .object(kind, id)
            .await?
            .ok_or_else(|| MakerError::NotFound(format!("{} {id}", kind.label())))
    }

    pub async fn update_object(
        &self,
        kind: ObjectKind,
        id: Uuid,
        f: ObjectFields,
        if_match: Option<u64>,
    ) -> Result<BusinessObject> {
        let current = self.object(kind, id).await?;
        if let Some(expected) = if_match
            && expected != current.revision
        {
            return Err(MakerError::PreconditionFailed {
                current: current.revision,
            });
        }
        let mut next = current.clone();
        let data_changed = f.data.is_some();
        Self::apply_fields(kind, &mut next, f)?;
        if data_changed {
            self.check_links(kind, &next.data).await?;
        }
        next.revision += 1;
        next.updated_at = self.clock().now();
        let written = match Self::new_columns(kind, &current, &next) {
            // a database's rows follow its columns, in the same transaction
            Some(def) => {
                let reshape = move |values: &serde_json::Map<String, Value>| def.reshape(values);
                self.store()
                    .reshape_database(&next, current.revision, &reshape, ROWS_REFUSED_SHOWN)
                    .await
                    .map(|refused| {
                        if refused.is_empty() {
                            Ok(())
                        } else {
                            Err(refused)
                        }
                    })
            }
            None => self
                .store()
                .write_object(ObjectWrite::Update {
                    object: next.clone(),
                    expected_revision: current.revision,
                })
                .await
                .map(Ok),
        };
        let written = match written {
            Ok(Err(refused)) => {
                return Err(MakerError::RowsRefused(
                    refused.into_iter().map(|r| (r.row_id, r.message)).collect(),
                ));
            }
            Ok(Ok(())) => Ok(()),
            Err(e) => Err(e),
        };
        match written {
            Ok(()) => {
                self.bump();
                Ok(next)
            }
            Err(StoreError::Conflict) => Err(MakerError::PreconditionFailed {
                current: current.revision + 1,
            }),
            Err(e) => Err(taken(e, &next.reference)),
        }
    }

    pub async fn delete_object(&self, kind: ObjectKind, id: Uuid) -> Result<()> {
        match self
            .store()
            .write_object(ObjectWrite::Delete { kind, id })
            .await
        {
            Ok(()) => {
                self.bump();
                Ok(())
            }
            Err(StoreError::Conflict) => {
                Err(MakerError::NotFound(format!("{} {id}", kind.label())))
            }
            Err(StoreError::InUse(why)) => Err(MakerError::InUse(why)),
            Err(e) => Err(e.into()),
        }
    }
}

impl Maker {
    /// A business object of `kind` named by id or reference (an id that is none: `None`).
    pub async fn object_named(
        &self,
        kind: ObjectKind,
        name: &flow::effect::ObjectName,
    ) -> std::result::Result<Option<BusinessObject>, StoreError> {
        match name {
            flow::effect::ObjectName::Entity { id } => match Uuid::parse_str(id) {
                Ok(id) => self.store().object(kind, id).await,
                Err(_) => Ok(None),
            },
            flow::effect::ObjectName::Reference { reference } => {
                self.store().object_by_reference(kind, reference).await
            }
        }
    }
}
