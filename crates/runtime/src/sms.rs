//! *Send a SMS*, performed: the template read, its content rendered with the action's values,
//! the recipient checked (a valid mobile number, in the entry point's region when written
//! nationally), sent through the deployment's SMS provider and recorded in the history. A
//! preview sends nothing (its history says what would have gone).

use flow::catalogue::ObjectKind;
use flow::customer::PhoneKind;
use flow::effect::{SmsOutcome, SmsRequest};
use flow::objects::SmsTemplateData;

use crate::conversations::{Conversations, Result};

impl Conversations {
    pub(crate) async fn send_sms(
        &self,
        from: &engine::State,
        sms: &SmsRequest,
        region: &str,
        preview: bool,
        turn: &mut engine::Turn,
    ) -> Result<SmsOutcome> {
        let object = self
            .maker()
            .object_named(ObjectKind::SmsTemplate, &sms.template)
            .await?;
        let Some(object) = object else {
            return Ok(SmsOutcome::ReferenceNotFound);
        };
        let Ok(template) = serde_json::from_value::<SmsTemplateData>(object.data) else {
            return Ok(error("the SMS template's data cannot be read"));
        };
        let text = template.render(sms.content.as_deref(), &sms.variables);
        if text.trim().is_empty() {
            return Ok(error("the SMS is empty"));
        }
        if text.chars().count() > channels::sms::BODY_CHARS {
            return Ok(error(&format!(
                "the SMS has more than {} characters",
                channels::sms::BODY_CHARS
            )));
        }
        let to = match flow::customer::phone_kind(&sms.recipient, region) {
            PhoneKind::Mobile(n) => n,
            PhoneKind::NotMobile(_) => return Ok(SmsOutcome::NotMobile),
            PhoneKind::Invalid => {
                return Ok(error(&format!(
                    "'{}' is not a phone number",
                    sms.recipient.chars().take(64).collect::<String>()
                )));
            }
        };
        let send_type = if sms.outgoing {
            "outgoing_interaction"
        } else {
            "basic"
        };
        let mut record = |provider_id| {
            turn.events.push(engine::Event::Channel {
                detail: engine::ChannelNote::Sms {
                    to: to.clone(),
                    text: text.clone(),
                    send_type: send_type.to_owned(),
                    provider_id,
                },
            });
        };
        if preview {
            record(None);
            return Ok(SmsOutcome::Sent);
        }
        let Some(provider) = &self.sms else {
            return Ok(error(
                "no SMS provider is configured (settings sms_account_sid and SWITCHYARD_SMS_AUTH_TOKEN)",
            ));
        };
        let Some(client) = self.provider_client() else {
            return Ok(error("the providers' HTTP client is not running"));
        };
        let key = uuid::Uuid::now_v7().to_string();
        match provider.send(client, &sms.sender, &to, &text, &key).await {
            Ok(sent) => {
                record(sent.provider_message_id.clone());
                if sms.outgoing {
                    let note = engine::ChannelNote::Sms {
                        to: to.clone(),
                        text: text.clone(),
                        send_type: "outgoing_interaction".into(),
                        provider_id: sent.provider_message_id,
                    };
                    self.record_outgoing(from, &to, &text, "sms", note).await?;
                }
                Ok(SmsOutcome::Sent)
            }
            Err(e) => Ok(error(&e.reason)),
        }
    }

    /// Records a message sent as an outgoing interaction (*Send a SMS*, *Send an email*): a
    /// closed interaction of mode `outgoing` on `channel` (the sending one's routing and
    /// version, `interaction.parent` its id), its one message `text` and the channel's note.
    pub(crate) async fn record_outgoing(
        &self,
        from: &engine::State,
        to: &str,
        text: &str,
        channel: &str,
        note: engine::ChannelNote,
    ) -> Result<()> {
        use serde_json::json;
        let id = uuid::Uuid::now_v7();
        let now = self.now();
        let parent = Some(from.interaction_id()).filter(|i| !i.is_nil());
        let mut system = serde_json::Map::new();
        system.insert(
            "interaction".into(),
            json!({"id": id, "mode": "outgoing", "started_at": jiff::Timestamp::to_string(&now), "parent": parent}),
        );
        system.insert("channel".into(), json!(channel));
        let mut state = engine::State::blank(from.routing_id, from.version_id, 0, system);
        state.status = engine::Status::Closed(engine::CloseReason::EndOfRouting);
        let events = [
            engine::Event::MessageOut {
                message: flow::exec::Outbound::Text {
                    text: text.to_owned(),
                },
            },
            engine::Event::Channel { detail: note },
            engine::Event::Closed {
                reason: engine::CloseReason::EndOfRouting,
            },
        ];
        let rows = events
            .iter()
            .enumerate()
            .map(|(seq, e)| store::EventRow {
                interaction_id: id,
                // an interaction's events are numbered from 1
                seq: seq as u64 + 1,
                at: now,
                event: serde_json::to_value(e).unwrap_or(serde_json::Value::Null),
            })
            .collect::<Vec<_>>();
        let row = store::InteractionRow {
            id,
            entry_point_id: None,
            mode: flow::interaction::Mode::Outgoing,
            customer: to.to_owned(),
            customer_id: None,
            routing_id: from.routing_id,
            version_id: from.version_id,
            status: flow::interaction::InteractionStatus::Closed,
            state: engine::save_state(&state),
            wake_at: None,
            next_seq: rows.len() as u64 + 1,
            revision: 1,
            created_at: now,
            updated_at: now,
        };
        self.commit_rows(store::TurnWrite {
            interaction: row,
            expected_revision: None,
            inbound: None,
            events: rows,
            outbox: Vec::new(),
            web_calls: Vec::new(),
            db_writes: Vec::new(),
            case_writes: Vec::new(),
            card_links: Vec::new(),
            survey_writes: Vec::new(),
            record_links: Vec::new(),
            follow_up: None,
            new_customer: None,
            acd: None,
            owner: None,
            uploads: Vec::new(),
        })
        .await
    }
}

fn error(reason: &str) -> SmsOutcome {
    SmsOutcome::Error {
        reason: reason.to_owned(),
    }
}
