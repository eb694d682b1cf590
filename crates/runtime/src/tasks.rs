//! Tasks (seed 003 §5.9): *Create a task* performed for a turn — a task kept by Switchyard, or a
//! Salesforce `Task` made through a CRM directory connected to Salesforce — and the tasks API.
//!
//! A Switchyard task is keyed by its request (`send_key`), so a turn performed again after a
//! crash finds the task it made instead of making another. A Salesforce task is made at least
//! once (Salesforce has no idempotency key for a creation).

use flow::catalogue::ObjectKind;
use flow::effect::{TaskOutcome, TaskRequest};
use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Map, Value};
use store::{Page, PageRequest, TargetInsert, TaskFilter, TaskRow};
use uuid::Uuid;

use crate::conversations::{Conversations, Result};
use crate::error::ConversationError;

/// Most tasks a deployment keeps.
pub const TASKS: u64 = 10_000_000;

/// A task's statuses.
pub const STATUSES: [&str; 2] = ["open", "done"];

/// A task, as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Task {
    pub id: Uuid,
    pub name: String,
    pub category: String,
    pub start_at: Option<Timestamp>,
    pub due_at: Option<Timestamp>,
    pub status: String,
    pub interaction_id: Option<Uuid>,
    pub customer_id: Option<Uuid>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl From<TaskRow> for Task {
    fn from(t: TaskRow) -> Self {
        Task {
            id: t.id,
            name: t.name,
            category: t.category,
            start_at: t.start_at,
            due_at: t.due_at,
            status: t.status,
            interaction_id: t.interaction_id,
            customer_id: t.customer_id,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

fn error(reason: impl Into<String>) -> TaskOutcome {
    TaskOutcome::Error {
        reason: reason.into(),
    }
}

impl Conversations {
    /// Performs *Create a task*; a preview makes no Salesforce task.
    pub(crate) async fn task_request(
        &self,
        state: &engine::State,
        req: &TaskRequest,
        preview: bool,
    ) -> Result<TaskOutcome> {
        let Some(sf) = &req.salesforce else {
            let now = self.now();
            let task = TaskRow {
                id: Uuid::now_v7(),
                key: crate::email_send::send_key(state, "task").to_string(),
                name: req.name.chars().take(200).collect(),
                category: req.category.clone(),
                start_at: req.start_at,
                due_at: req.due_at,
                status: "open".into(),
                interaction_id: Some(state.interaction_id()).filter(|i| !i.is_nil()),
                customer_id: crate::cases::customer_of(state),
                created_at: now,
                updated_at: now,
            };
            return Ok(match self.store.task_insert(&task, TASKS).await? {
                TargetInsert::Inserted => TaskOutcome::Created {
                    id: task.id.to_string(),
                },
                TargetInsert::Again => match self.store.task_by_key(&task.key).await? {
                    Some(t) => TaskOutcome::Created {
                        id: t.id.to_string(),
                    },
                    None => error("the task made before is gone"),
                },
                TargetInsert::Full => error(format!("the deployment keeps at most {TASKS} tasks")),
            });
        };
        let Some(object) = self
            .maker()
            .object_named(ObjectKind::CrmDirectory, &sf.directory)
            .await?
        else {
            return Ok(error("no such CRM directory"));
        };
        if preview {
            return Ok(error("a preview makes no Salesforce task"));
        }
        let (client, session, version) = match self.salesforce_session(&object).await? {
            Ok(s) => s,
            Err(reason) => return Ok(error(reason)),
        };
        let mut fields = Map::new();
        fields.insert("Subject".into(), Value::String(req.name.clone()));
        fields.insert("Status".into(), Value::String("Not Started".into()));
        fields.insert(
            "Description".into(),
            Value::String(format!("Category: {}", req.category)),
        );
        if let Some(due) = req.due_at {
            let date = due.to_zoned(self.maker().time_zone().clone()).date();
            fields.insert("ActivityDate".into(), Value::String(date.to_string()));
        }
        if let Some(start) = req.start_at {
            fields.insert("IsReminderSet".into(), Value::Bool(true));
            fields.insert("ReminderDateTime".into(), Value::String(start.to_string()));
        }
        if let Some(what) = &sf.related_to {
            fields.insert("WhatId".into(), Value::String(what.clone()));
        }
        Ok(
            match channels::salesforce::create(&client, &session, &version, "Task", &fields).await {
                Ok(id) => TaskOutcome::Created { id },
                Err(e) => error(e.reason),
            },
        )
    }

    // ---- the tasks API ----

    /// Tasks, newest first.
    pub async fn tasks(&self, filter: &TaskFilter, page: &PageRequest) -> Result<Page<Task>> {
        if let Some(s) = &filter.status
            && !STATUSES.contains(&s.as_str())
        {
            return Err(ConversationError::Invalid(
                "invalid_task",
                format!("status: '{s}' is not open or done"),
            ));
        }
        let p = self.store.tasks(filter, page).await?;
        Ok(Page {
            items: p.items.into_iter().map(Task::from).collect(),
            next_after: p.next_after,
        })
    }

    /// One task.
    pub async fn task(&self, id: Uuid) -> Result<Task> {
        self.store
            .task_by_id(id)
            .await?
            .map(Task::from)
            .ok_or_else(|| ConversationError::NotFound(format!("task {id}")))
    }

    /// Sets a task's status (`open` or `done`).
    pub async fn set_task_status(&self, id: Uuid, status: &str) -> Result<Task> {
        if !STATUSES.contains(&status) {
            return Err(ConversationError::Invalid(
                "invalid_task",
                format!("status: '{status}' is not open or done"),
            ));
        }
        match self.store.task_set_status(id, status, self.now()).await {
            Ok(()) => self.task(id).await,
            Err(store::StoreError::Conflict) => {
                Err(ConversationError::NotFound(format!("task {id}")))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Removes a task.
    pub async fn delete_task(&self, id: Uuid) -> Result<()> {
        match self.store.task_delete(id).await {
            Ok(()) => Ok(()),
            Err(store::StoreError::Conflict) => {
                Err(ConversationError::NotFound(format!("task {id}")))
            }
            Err(e) => Err(e.into()),
        }
    }
}
