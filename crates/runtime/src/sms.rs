//! *Send a SMS*, performed: the template read, its content rendered with the action's values,
//! the recipient checked (a valid mobile number, in the entry point's region when written
//! nationally), sent through the deployment's SMS provider and recorded in the history. A
//! preview sends nothing (its history says what would have gone).

use flow::catalogue::ObjectKind;
use flow::customer::PhoneKind;
use flow::effect::{ObjectName, SmsOutcome, SmsRequest};
use flow::objects::SmsTemplateData;

use crate::conversations::{Conversations, Result};

impl Conversations {
    pub(crate) async fn send_sms(
        &self,
        sms: &SmsRequest,
        region: &str,
        preview: bool,
        turn: &mut engine::Turn,
    ) -> Result<SmsOutcome> {
        let store = self.maker().store();
        let object = match &sms.template {
            ObjectName::Entity { id } => match uuid::Uuid::parse_str(id) {
                Ok(id) => store.object(ObjectKind::SmsTemplate, id).await?,
                Err(_) => None,
            },
            ObjectName::Reference { reference } => {
                store
                    .object_by_reference(ObjectKind::SmsTemplate, reference)
                    .await?
            }
        };
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
        match channels::sms::send(client, provider, &sms.sender, &to, &text, &key).await {
            Ok(sent) => {
                record(sent.provider_message_id);
                Ok(SmsOutcome::Sent)
            }
            Err(e) => Ok(error(&e.reason)),
        }
    }
}

fn error(reason: &str) -> SmsOutcome {
    SmsOutcome::Error {
        reason: reason.to_owned(),
    }
}
