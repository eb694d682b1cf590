//! *Send an email* and *Transfer the email*, performed within the turn (as *Send a SMS* is):
//! the template (with the files it attaches) or the interaction's email read, the sender resolved (a mailbox, or for an
//! *Outgoing interaction* the template's sender or the interaction's mailbox), automatic sends
//! to an automatic email left out (RFC 3834), the message sent through the relay one recipient
//! at a time and recorded in the history. A preview sends nothing and records what would have
//! gone. The call runs under the customer's lock (the relay's timeout bounds it): a crash after
//! the relay took it and before the commit sends it again when the input comes again — at least
//! once, with the same `Message-ID` each time (see `send_key`).

use channels::relay::{Outgoing, RecipientOutcome};
use flow::catalogue::ObjectKind;
use flow::effect::{EmailOutcome, EmailRequest, EmailSender, ObjectName, TransferRequest};
use flow::entry_point::{Channel, EntryPoint};
use flow::objects::EmailTemplateData;
use uuid::Uuid;

use crate::conversations::{Conversations, Result};

/// `system.entry_point`, typed.
#[derive(serde::Deserialize)]
struct EntryPointRef {
    reference: String,
}

/// The `<row>` part of the `Message-ID` of a routing's send: drawn from what the interaction
/// persisted before the turn (the action, how often it was passed, hand-overs, the random
/// state), never from the clock, so a turn run again after a crash sends the same id again
/// and a copy a relay took before is recognisable.
pub(crate) fn send_key(state: &engine::State, kind: &str) -> Uuid {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(state.interaction_id().as_bytes());
    h.update(kind.as_bytes());
    if let Some(c) = &state.cursor {
        h.update(c.action.as_bytes());
        h.update(
            state
                .passages
                .get(&c.action)
                .copied()
                .unwrap_or_default()
                .to_be_bytes(),
        );
    }
    h.update(state.hand_overs.to_be_bytes());
    h.update(state.rng.to_be_bytes());
    let d = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    uuid::Builder::from_custom_bytes(b).into_uuid()
}

fn error(reason: impl Into<String>) -> EmailOutcome {
    EmailOutcome::Error {
        reason: reason.into(),
    }
}

impl Conversations {
    /// A mailbox (an email entry point) by id or reference.
    async fn mailbox_named(&self, name: &ObjectName) -> Result<Option<EntryPoint>> {
        let ep = match name {
            ObjectName::Entity { id } => match Uuid::parse_str(id) {
                Ok(id) => self.entry_point_by_id(id).await?,
                Err(_) => None,
            },
            ObjectName::Reference { reference } => self.entry_point_cached(reference).await?,
        };
        Ok(ep.filter(|e| e.channel == Channel::Email && e.address.is_some()))
    }

    /// The interaction's own mailbox, if it came by email.
    async fn own_mailbox(&self, state: &engine::State) -> Result<Option<EntryPoint>> {
        let Some(r) = state
            .system
            .get("entry_point")
            .and_then(|v| serde_json::from_value::<EntryPointRef>(v.clone()).ok())
        else {
            return Ok(None);
        };
        self.mailbox_named(&ObjectName::Reference {
            reference: r.reference,
        })
        .await
    }

    pub(crate) async fn send_email(
        &self,
        state: &engine::State,
        req: &EmailRequest,
        preview: bool,
        turn: &mut engine::Turn,
    ) -> Result<EmailOutcome> {
        let object = self
            .maker()
            .object_named(ObjectKind::EmailTemplate, &req.template)
            .await?;
        let Some(object) = object else {
            return Ok(EmailOutcome::ReferenceNotFound);
        };
        let Ok(template) = serde_json::from_value::<EmailTemplateData>(object.data) else {
            return Ok(error("the email template's data cannot be read"));
        };
        let (from, from_name, send_type, queue) = match &req.sender {
            EmailSender::Basic { mailbox } => match self.mailbox_named(mailbox).await? {
                Some(ep) => (
                    ep.address.clone().unwrap_or_default(),
                    ep.name,
                    "basic",
                    None,
                ),
                None => return Ok(EmailOutcome::ReferenceNotFound),
            },
            EmailSender::OutgoingInteraction { queue } => {
                let group = self.maker().object_named(ObjectKind::Queue, queue).await?;
                let Some(group) = group else {
                    return Ok(EmailOutcome::ReferenceNotFound);
                };
                let own = self.own_mailbox(state).await?;
                match (template.from.clone(), own) {
                    (Some(f), _) => (
                        f,
                        String::new(),
                        "outgoing_interaction",
                        Some(group.reference),
                    ),
                    (None, Some(ep)) => (
                        ep.address.clone().unwrap_or_default(),
                        ep.name,
                        "outgoing_interaction",
                        Some(group.reference),
                    ),
                    (None, None) => {
                        return Ok(error(
                            "no sender: the template has no 'from' and the interaction came through no mailbox",
                        ));
                    }
                }
            }
        };
        let mut attachments = Vec::with_capacity(template.attachments.len());
        for id in &template.attachments {
            match self.maker().store().file(*id).await? {
                Some(f) => attachments.push((f.info.name, f.info.content_type, f.data)),
                None => {
                    return Ok(error(format!(
                        "the template's attachment {id} is no longer stored"
                    )));
                }
            }
        }
        let (subject, text, html) = template.render(req.subject.as_deref(), &req.variables);
        let subject: String = subject
            .replace(['\r', '\n'], " ")
            .chars()
            .take(998)
            .collect();
        let outgoing = Outgoing {
            message_id: crate::email_out::message_id(
                state.interaction_id(),
                send_key(state, "send"),
                &from,
            ),
            from,
            from_name,
            to: req.to.clone(),
            cc: req.cc.clone(),
            bcc: req.bcc.clone(),
            subject,
            text,
            html,
            automatic: true,
            attachments,
            ..Default::default()
        };
        let outcome = self
            .deliver_email(state, outgoing, send_type, preview, turn)
            .await?;
        if let (Some(queue), false, EmailOutcome::Sent | EmailOutcome::PartiallySent { .. }) =
            (queue, preview, &outcome)
        {
            let note = turn.events.iter().rev().find_map(|e| match e {
                engine::Event::Channel {
                    detail: d @ engine::ChannelNote::Email { .. },
                } => Some(d.clone()),
                _ => None,
            });
            if let Some(mut note) = note {
                if let engine::ChannelNote::Email { queue: q, .. } = &mut note {
                    *q = Some(queue);
                }
                let to = req.to.first().cloned().unwrap_or_default();
                self.record_outgoing(state, &to, &email_text(&note), "email", note)
                    .await?;
            }
        }
        Ok(outcome)
    }

    pub(crate) async fn transfer_email(
        &self,
        state: &engine::State,
        req: &TransferRequest,
        preview: bool,
        turn: &mut engine::Turn,
    ) -> Result<EmailOutcome> {
        let Some(mailbox) = self.mailbox_named(&req.mailbox).await? else {
            return Ok(EmailOutcome::ReferenceNotFound);
        };
        let Some(email) = state.email() else {
            return Ok(error("the interaction has no email to transfer"));
        };
        let from = mailbox.address.clone().unwrap_or_default();
        let upload_of = |url: &str| {
            url.rsplit('/')
                .next()
                .and_then(|id| Uuid::parse_str(id).ok())
        };
        let mut attachments = Vec::new();
        let comment = req.comment.clone().unwrap_or_default();
        let text = if req.as_attachment {
            if let Some(id) = upload_of(&email.raw_url)
                && let Some(raw) = self.upload_bytes(id).await?
            {
                attachments.push(("forwarded.eml".to_owned(), "message/rfc822".to_owned(), raw));
            } else {
                return Ok(error("the original message is no longer kept"));
            }
            if comment.is_empty() {
                "The forwarded message is attached.".to_owned()
            } else {
                comment
            }
        } else {
            if req.include_attachments {
                for a in &email.attachments {
                    if let Some(id) = upload_of(&a.url)
                        && let Some(data) = self.upload_bytes(id).await?
                    {
                        attachments.push((a.name.clone(), a.content_type.clone(), data));
                    }
                }
            }
            format!(
                "{comment}\n\n---------- Forwarded message ----------\nFrom: {}\nDate: {}\nSubject: {}\nTo: {}\n\n{}",
                email.from,
                email.date.as_deref().unwrap_or(""),
                email.subject,
                email.to.join(", "),
                email.text
            )
            .trim_start()
            .to_owned()
        };
        let mut references = email.references.clone();
        if !email.message_id.is_empty() {
            references.push(email.message_id.clone());
        }
        let outgoing = Outgoing {
            message_id: crate::email_out::message_id(
                state.interaction_id(),
                send_key(state, "transfer"),
                &from,
            ),
            from,
            from_name: mailbox.name.clone(),
            to: req.to.clone(),
            cc: req.cc.clone(),
            subject: format!("Fwd: {}", email.subject)
                .chars()
                .take(998)
                .collect(),
            text,
            in_reply_to: (!email.message_id.is_empty()).then(|| email.message_id.clone()),
            references,
            automatic: true,
            attachments,
            ..Default::default()
        };
        self.deliver_email(state, outgoing, "transfer", preview, turn)
            .await
    }

    /// Leaves out the recipients an automatic send must not reach (RFC 3834: the sender of an
    /// automatic email), sends to the others, records it all in the history.
    pub(crate) async fn deliver_email(
        &self,
        state: &engine::State,
        mut m: Outgoing,
        send_type: &str,
        preview: bool,
        turn: &mut engine::Turn,
    ) -> Result<EmailOutcome> {
        let mut suppressed = Vec::new();
        if let Some(email) = state.email()
            && email.automatic.is_some()
        {
            let sender = [email.from.to_lowercase(), email.answer_to().to_lowercase()];
            for list in [&mut m.to, &mut m.cc, &mut m.bcc] {
                list.retain(|r| {
                    let keep = !sender.contains(&r.to_lowercase());
                    if !keep {
                        suppressed.push(r.clone());
                    }
                    keep
                });
            }
        }
        let mut refused = Vec::new();
        for list in [&mut m.to, &mut m.cc, &mut m.bcc] {
            list.retain(|r| {
                let ok = flow::entry_point::check_mailbox_address(r).is_ok();
                if !ok {
                    refused.push(r.clone());
                }
                ok
            });
        }
        let mut note = |accepted: Vec<String>, refused: Vec<String>, message_id: Option<String>| {
            turn.events.push(engine::Event::Channel {
                detail: engine::ChannelNote::Email {
                    to: accepted,
                    subject: m.subject.clone(),
                    text: m.text.chars().take(2_000).collect(),
                    send_type: send_type.to_owned(),
                    message_id,
                    refused,
                    suppressed: suppressed.clone(),
                    queue: None,
                },
            });
        };
        let everyone: Vec<String> = m.to.iter().chain(&m.cc).chain(&m.bcc).cloned().collect();
        if everyone.is_empty() {
            note(Vec::new(), refused.clone(), None);
            return Ok(if suppressed.is_empty() {
                error("the email has no valid recipient")
            } else {
                error("not sent: the email answered is an automatic message (RFC 3834)")
            });
        }
        if preview {
            note(everyone, refused, None);
            return Ok(EmailOutcome::Sent);
        }
        let Some(relay) = self.relay.clone() else {
            return Ok(error(
                "no relay is configured for outgoing email (smtp_relay)",
            ));
        };
        let outcomes = match channels::relay::send(&relay, &m).await {
            Ok(o) => o,
            Err(reason) => return Ok(error(reason)),
        };
        let mut accepted = Vec::new();
        let mut failure = None;
        for (r, o) in outcomes {
            match o {
                RecipientOutcome::Accepted => accepted.push(r),
                RecipientOutcome::Refused(why) | RecipientOutcome::Failed(why) => {
                    refused.push(r);
                    failure.get_or_insert(why);
                }
            }
        }
        let sent_any = !accepted.is_empty();
        note(
            accepted,
            refused.clone(),
            sent_any.then(|| m.message_id.clone()),
        );
        Ok(
            match (sent_any, refused.is_empty() && suppressed.is_empty()) {
                (true, true) => EmailOutcome::Sent,
                (true, false) => EmailOutcome::PartiallySent {
                    refused: refused.into_iter().chain(suppressed).collect(),
                },
                (false, _) => error(
                    failure.unwrap_or_else(|| "the relay took the email for no recipient".into()),
                ),
            },
        )
    }
}

/// What an outgoing email interaction shows as its one message.
fn email_text(note: &engine::ChannelNote) -> String {
    match note {
        engine::ChannelNote::Email { subject, text, .. } => format!("{subject}\n\n{text}"),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::send_key;

    fn state(passages: u32) -> engine::State {
        let action = "0190a0a0-0000-7000-8000-000000000001";
        serde_json::from_value(serde_json::json!({
            "routing_id": "0190a0a0-0000-7000-8000-0000000000aa",
            "version_id": "0190a0a0-0000-7000-8000-0000000000bb",
            "status": {"status": "waiting"},
            "cursor": {"action": action, "memo": null, "until": null, "message": false},
            "vars": {},
            "system": {"interaction": {"id": "0190a0a0-0000-7000-8000-0000000000cc"}, "now": "2026-12-02T07:00:00Z"},
            "passages": {action: passages},
            "hand_overs": 0,
            "rng": 42,
            "checkpoints": []
        }))
        .unwrap()
    }

    #[test]
    fn a_send_run_again_has_the_same_id_and_another_send_another() {
        let first = state(1);
        let mut later = first.clone();
        // the clock is not part of it: a turn run again later sends the same id
        later
            .system
            .insert("now".into(), "2026-12-02T08:00:00Z".into());
        assert_eq!(send_key(&first, "send"), send_key(&later, "send"));
        // the action passed again, or a transfer from it: another id
        assert_ne!(send_key(&first, "send"), send_key(&state(2), "send"));
        assert_ne!(send_key(&first, "send"), send_key(&first, "transfer"));
    }
}
