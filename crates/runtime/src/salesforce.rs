//! *Email to a Salesforce Query* (seed 002): a record of a Salesforce object created from the
//! interaction's email through a CRM directory connected to Salesforce — an access token by the
//! client credentials flow (the directory's client id and write-only client secret), the record
//! created, the original email attached when asked — through the outbound-address policy.
//!
//! Salesforce has no idempotency key for a record's creation: a crash after Salesforce created
//! it and before the turn is committed creates it again when the email is taken again (at
//! least once, as the relay's sends are).

use channels::salesforce::{self, Connection};
use flow::catalogue::ObjectKind;
use flow::crm::CrmDirectoryData;
use flow::effect::{SalesforceOutcome, SalesforceRequest};
use serde_json::{Map, Value};

use crate::conversations::{Conversations, Result};

fn error(reason: impl Into<String>) -> SalesforceOutcome {
    SalesforceOutcome::Error {
        reason: reason.into(),
    }
}

impl Conversations {
    /// A session with the Salesforce org a directory is connected to: the client, the access
    /// token and instance, the API version (`Err`: why there is none).
    pub(crate) async fn salesforce_session(
        &self,
        object: &flow::objects::BusinessObject,
    ) -> Result<std::result::Result<(reqwest::Client, salesforce::Session, String), String>> {
        let Some(link) = serde_json::from_value::<CrmDirectoryData>(object.data.clone())
            .ok()
            .and_then(|d| d.salesforce)
        else {
            return Ok(Err("the directory is not connected to Salesforce".into()));
        };
        let Some(secret) = object.secret.as_deref().and_then(|s| self.secrets.open(s)) else {
            return Ok(Err("the directory has no client secret (its secret)".into()));
        };
        if let Err(reason) = self.outbound.check_url(&link.login_url) {
            return Ok(Err(reason));
        }
        let Some(client) = self.provider_client() else {
            return Ok(Err("the providers' HTTP client is not running".into()));
        };
        let connection = Connection {
            login_url: link.login_url.clone(),
            client_id: link.client_id.clone(),
            client_secret: secret,
            api_version: link.api_version.clone(),
        };
        let session = match salesforce::token(client, &connection).await {
            Ok(s) => s,
            Err(e) => return Ok(Err(e.reason)),
        };
        if let Err(reason) = self.outbound.check_url(&session.instance_url) {
            return Ok(Err(format!("the instance URL Salesforce gave: {reason}")));
        }
        Ok(Ok((client.clone(), session, link.api_version)))
    }

    /// Performs *Email to a Salesforce Query*; a preview creates nothing.
    pub(crate) async fn salesforce_request(
        &self,
        state: &engine::State,
        req: &SalesforceRequest,
        preview: bool,
        turn: &mut engine::Turn,
    ) -> Result<SalesforceOutcome> {
        let Some(object) = self
            .maker()
            .object_named(ObjectKind::CrmDirectory, &req.directory)
            .await?
        else {
            return Ok(SalesforceOutcome::ReferenceNotFound);
        };
        let (outcome, attachment) = self.create_record(state, &object, req, preview).await?;
        let (id, error) = match &outcome {
            SalesforceOutcome::Created { id } => (Some(id.clone()), None),
            SalesforceOutcome::Error { reason } => (None, Some(reason.clone())),
            SalesforceOutcome::ReferenceNotFound => (None, None),
        };
        turn.events.push(engine::Event::Channel {
            detail: engine::ChannelNote::Salesforce {
                directory: object.reference.clone(),
                object: req.object.clone(),
                id,
                attachment,
                error,
            },
        });
        Ok(outcome)
    }

    async fn create_record(
        &self,
        state: &engine::State,
        object: &flow::objects::BusinessObject,
        req: &SalesforceRequest,
        preview: bool,
    ) -> Result<(SalesforceOutcome, Option<String>)> {
        let none = |reason: &str| Ok((error(reason), None));
        if preview {
            return none("a preview creates no Salesforce record");
        }
        let raw = if req.attach_email {
            let Some(email) = state.email() else {
                return none("the interaction has no email to attach");
            };
            let id = email
                .raw_url
                .rsplit('/')
                .next()
                .and_then(|id| uuid::Uuid::parse_str(id).ok());
            match id {
                Some(id) => match self.upload_bytes(id).await? {
                    Some(raw) => Some((email.subject.clone(), raw)),
                    None => return none("the original email is no longer kept"),
                },
                None => return none("the original email is no longer kept"),
            }
        } else {
            None
        };
        let (client, session, version) = match self.salesforce_session(object).await? {
            Ok(s) => s,
            Err(reason) => return Ok((error(reason), None)),
        };
        let client = &client;
        let mut fields = Map::new();
        for (name, value) in &req.fields {
            if !value.trim().is_empty() {
                fields.insert(name.clone(), Value::String(value.clone()));
            }
        }
        let id = match salesforce::create(client, &session, &version, &req.object, &fields).await {
            Ok(id) => id,
            Err(e) => return Ok((error(e.reason), None)),
        };
        let attachment = match raw {
            None => None,
            Some((subject, raw)) => {
                let title: String = subject
                    .chars()
                    .filter(|c| c.is_alphanumeric() || " -_".contains(*c))
                    .take(80)
                    .collect();
                let title = title.trim();
                let name = format!("{}.eml", if title.is_empty() { "email" } else { title });
                match salesforce::attach(client, &session, &version, &id, &name, &raw).await {
                    Ok(file) => Some(file),
                    Err(e) => {
                        return Ok((
                            error(format!(
                                "record {id} was created but the email could not be attached: {}",
                                e.reason
                            )),
                            None,
                        ));
                    }
                }
            }
        };
        Ok((SalesforceOutcome::Created { id }, attachment))
    }
}
