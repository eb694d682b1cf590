//! Payments (seed 003 §11.2): *Pay an invoice* performed for a turn, the provider's signed
//! webhook, and the payments API.
//!
//! A request asks the payment module's provider (through the outbound-address policy) for a
//! link to pay the open invoice found or the amount given, then sends the link: by SMS or by
//! email (the routing goes on at once, *Notification successfully sent*), or in the
//! conversation (the routing waits). The payment is keyed by the request (`send_key`), so a turn
//! performed again after a crash finds its payment and its link instead of asking for another
//! (the provider's idempotency key is the payment's id as well).
//!
//! The provider's webhook (`POST /webhooks/payments/{module reference}`) is checked over its
//! raw body in constant time, its timestamp within five minutes of now; each event is taken
//! once (`payment_events`), with what it does in the same transaction: the payment's status,
//! and its invoice paid. A payment in the routing's mode then resumes its interaction with the
//! outcome — only while that interaction still waits on a payment, and again when the provider
//! delivers the event again (so a crash between the two heals).

use channels::payment::{Account, Happened, LinkRequest, PaymentProvider, Stripe};
use channels::relay::Outgoing;
use flow::catalogue::ObjectKind;
use flow::catalogue::params::PayMode;
use flow::effect::{Effect, EffectResult, EmailOutcome, PaymentOf, PaymentOutcome, PaymentRequest};
use flow::invoices::format_amount;
use flow::payments::{PaymentModuleData, PaymentProviderKind, PaymentStatus};
use jiff::Timestamp;
use serde::Serialize;
use store::{Page, PageRequest, PaymentEventWrite, PaymentFilter, PaymentRow};
use uuid::Uuid;

use crate::conversations::{Conversations, Result};
use crate::distribution::Performed;
use crate::error::ConversationError;
use crate::turn::ById;

/// A payment, as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Payment {
    pub id: Uuid,
    pub module_id: Uuid,
    pub interaction_id: Option<Uuid>,
    pub invoice_id: Option<Uuid>,
    pub amount: String,
    pub currency: String,
    pub reference: String,
    pub mode: String,
    /// The provider's session id.
    pub session: Option<String>,
    pub status: PaymentStatus,
    pub reason: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl From<PaymentRow> for Payment {
    fn from(p: PaymentRow) -> Self {
        Payment {
            id: p.id,
            module_id: p.module_id,
            interaction_id: p.interaction_id,
            invoice_id: p.invoice_id,
            amount: format_amount(p.amount_minor),
            currency: p.currency,
            reference: p.reference,
            mode: p.mode,
            session: p.session,
            status: p.status,
            reason: p.reason,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

fn mode_key(mode: PayMode) -> &'static str {
    match mode {
        PayMode::Sms => "sms",
        PayMode::Email => "email",
        PayMode::SmartRouting => "smart_routing",
    }
}

fn provider(kind: PaymentProviderKind) -> &'static dyn PaymentProvider {
    match kind {
        PaymentProviderKind::Stripe => &Stripe,
    }
}

/// What is paid, once found: the amount and where the link goes.
struct Charge {
    invoice_id: Option<Uuid>,
    amount_minor: i64,
    currency: String,
    name: String,
    reference: String,
    customer_reference: Option<String>,
    mobile_phone: Option<String>,
    email: Option<String>,
    metadata: Vec<(String, String)>,
}

fn error(reason: impl Into<String>) -> Performed {
    answered(PaymentOutcome::Error {
        reason: reason.into(),
    })
}

fn answered(outcome: PaymentOutcome) -> Performed {
    Performed::Answered(EffectResult::Payment(outcome), Vec::new())
}

impl Conversations {
    /// Performs *Pay an invoice*: the module read, what is paid found, the link asked for and
    /// sent. In the routing's mode the interaction then waits for the webhook's outcome.
    pub(crate) async fn payment_request(
        &self,
        state: &engine::State,
        req: &PaymentRequest,
        preview: bool,
        turn: &mut engine::Turn,
    ) -> Result<Performed> {
        let Some(object) = self
            .maker()
            .object_named(ObjectKind::PaymentModule, &req.module)
            .await?
        else {
            return Ok(error("no such payment module"));
        };
        let Ok(module) = serde_json::from_value::<PaymentModuleData>(object.data.clone()) else {
            return Ok(error("the payment module's data cannot be read"));
        };
        if !module.active {
            return Ok(error(format!(
                "the payment module {} is not active",
                object.reference
            )));
        }
        if preview && !module.sandbox {
            return Ok(error(
                "a preview pays only through a sandbox payment module (no real money moves)",
            ));
        }
        let Some(api_key) = object.secret.as_deref().and_then(|s| self.secrets.open(s)) else {
            return Ok(error("the payment module has no API key (its secret)"));
        };
        let charge = match &req.of {
            PaymentOf::Invoice(q) => {
                let Some(inv) = self
                    .store
                    .invoice_find(q.by, &q.value, q.pick, true)
                    .await?
                else {
                    return Ok(answered(PaymentOutcome::InvoiceNotFound {
                        reason: "no open invoice matches".into(),
                    }));
                };
                let v = inv.values;
                Charge {
                    invoice_id: Some(inv.id),
                    amount_minor: v.amount_minor,
                    currency: v.currency,
                    name: if v.name.is_empty() {
                        format!("Invoice {}", v.number)
                    } else {
                        v.name
                    },
                    reference: v.number,
                    customer_reference: v.customer_number,
                    mobile_phone: v.mobile_phone,
                    email: v.email,
                    metadata: Vec::new(),
                }
            }
            PaymentOf::Amount(a) => Charge {
                invoice_id: None,
                amount_minor: a.amount_minor,
                currency: a.currency.clone(),
                name: a.name.clone(),
                reference: a.reference.clone(),
                customer_reference: a.customer_reference.clone(),
                mobile_phone: a.mobile_phone.clone(),
                email: a.email.clone(),
                metadata: [("comment", &a.comment), ("custom_data", &a.custom_data)]
                    .into_iter()
                    .filter_map(|(k, v)| v.clone().map(|v| (k.to_owned(), v)))
                    .collect(),
            },
        };
        // where the link goes, checked before a link is asked for
        let recipient = match req.mode {
            PayMode::Sms => match (&charge.mobile_phone, &module.sms_sender, &self.sms) {
                (None, ..) => {
                    return Ok(error("there is no mobile phone number to send the link to"));
                }
                (_, None, _) => {
                    return Ok(error("the payment module has no SMS sender (sms_sender)"));
                }
                (_, _, None) if !preview => {
                    return Ok(error(
                        "no SMS provider is configured (settings sms_account_sid and SWITCHYARD_SMS_AUTH_TOKEN)",
                    ));
                }
                (Some(to), Some(_), _) => {
                    match flow::customer::phone_kind(to, &self.phone_region) {
                        flow::customer::PhoneKind::Mobile(n) => Some(n),
                        _ => return Ok(error(format!("{to} is not a mobile phone number"))),
                    }
                }
            },
            PayMode::Email => match (&charge.email, &module.email_from, &self.relay) {
                (None, ..) => return Ok(error("there is no email address to send the link to")),
                (_, None, _) => {
                    return Ok(error(
                        "the payment module has no sender address (email_from)",
                    ));
                }
                (_, _, None) if !preview => {
                    return Ok(error("no email relay is configured (setting smtp_relay)"));
                }
                (Some(to), Some(_), _) => Some(to.clone()),
            },
            PayMode::SmartRouting => None,
        };
        let now = self.now();
        let key = crate::email_send::send_key(state, "payment").to_string();
        let interaction = Some(state.interaction_id()).filter(|i| !i.is_nil());
        let mut payment = self
            .store
            .payment_begin(&PaymentRow {
                id: Uuid::now_v7(),
                key: key.clone(),
                module_id: object.id,
                interaction_id: interaction,
                invoice_id: charge.invoice_id,
                amount_minor: charge.amount_minor,
                currency: charge.currency.clone(),
                reference: charge.reference.clone(),
                mode: mode_key(req.mode).to_owned(),
                session: None,
                url: None,
                status: PaymentStatus::Creating,
                reason: None,
                created_at: now,
                updated_at: now,
            })
            .await?;
        let note = |payment: &PaymentRow, error: Option<String>| engine::Event::Channel {
            detail: engine::ChannelNote::Payment {
                payment: payment.id.to_string(),
                module: object.reference.clone(),
                amount_minor: payment.amount_minor,
                currency: payment.currency.clone(),
                mode: payment.mode.clone(),
                status: payment.status.as_str().to_owned(),
                error,
            },
        };
        let url = match payment.url.clone() {
            Some(url) => url,
            None => {
                if let Err(reason) = self.outbound.check_url(&module.base_url) {
                    return self.payment_failed(payment, reason, turn, &note).await;
                }
                let Some(client) = self.provider_client() else {
                    return self
                        .payment_failed(
                            payment,
                            "the providers' HTTP client is not running".into(),
                            turn,
                            &note,
                        )
                        .await;
                };
                let request = LinkRequest {
                    payment: payment.id.to_string(),
                    amount_minor: charge.amount_minor,
                    currency: charge.currency.clone(),
                    label: charge.name.clone(),
                    reference: charge.reference.clone(),
                    customer_reference: charge.customer_reference.clone(),
                    email: charge.email.clone(),
                    metadata: charge.metadata.clone(),
                    success_url: module.success_url.clone(),
                    cancel_url: module.cancel_url.clone(),
                    expires_at: now.as_second() + i64::from(module.link_minutes) * 60,
                };
                let account = Account {
                    base: module.base_url.clone(),
                    api_key,
                };
                match provider(module.provider)
                    .link(client, &account, &request, &payment.id.to_string())
                    .await
                {
                    Ok(link) => {
                        payment.session = Some(link.session);
                        payment.url = Some(link.url.clone());
                        payment.status = PaymentStatus::Pending;
                        payment.updated_at = self.now();
                        self.store.payment_set(&payment).await?;
                        link.url
                    }
                    Err(e) => return self.payment_failed(payment, e.reason, turn, &note).await,
                }
            }
        };
        let text = module.message(
            &url,
            &format_amount(charge.amount_minor),
            &charge.currency,
            &charge.name,
        );
        turn.events.push(note(&payment, None));
        match (req.mode, recipient) {
            (PayMode::SmartRouting, _) => {
                let message = flow::exec::Outbound::Text { text };
                turn.events.push(engine::Event::MessageOut {
                    message: message.clone(),
                });
                turn.outbound.push(message);
                Ok(Performed::Waiting(Vec::new()))
            }
            (PayMode::Sms, Some(to)) => {
                let sender = module.sms_sender.clone().unwrap_or_default();
                turn.events.push(engine::Event::Channel {
                    detail: engine::ChannelNote::Sms {
                        to: to.clone(),
                        text: text.clone(),
                        send_type: "payment_link".into(),
                        provider_id: None,
                    },
                });
                if preview {
                    return Ok(answered(PaymentOutcome::NotificationSent {
                        payment: payment.id.to_string(),
                    }));
                }
                let (Some(gateway), Some(client)) = (&self.sms, self.provider_client()) else {
                    return Ok(error("the SMS provider is not running"));
                };
                match gateway.send(client, &sender, &to, &text, &key).await {
                    Ok(_) => Ok(answered(PaymentOutcome::NotificationSent {
                        payment: payment.id.to_string(),
                    })),
                    Err(e) => Ok(error(format!(
                        "the link could not be sent by SMS: {}",
                        e.reason
                    ))),
                }
            }
            (PayMode::Email, Some(to)) => {
                let from = module.email_from.clone().unwrap_or_default();
                let outgoing = Outgoing {
                    message_id: crate::email_out::message_id(
                        state.interaction_id(),
                        crate::email_send::send_key(state, "payment_link"),
                        &from,
                    ),
                    from,
                    to: vec![to],
                    subject: format!("Payment: {}", charge.name)
                        .replace(['\r', '\n'], " ")
                        .chars()
                        .take(998)
                        .collect(),
                    text,
                    automatic: true,
                    ..Default::default()
                };
                match self
                    .deliver_email(state, outgoing, "payment_link", preview, turn)
                    .await?
                {
                    EmailOutcome::Sent | EmailOutcome::PartiallySent { .. } => {
                        Ok(answered(PaymentOutcome::NotificationSent {
                            payment: payment.id.to_string(),
                        }))
                    }
                    EmailOutcome::Error { reason } => Ok(error(format!(
                        "the link could not be sent by email: {reason}"
                    ))),
                    other => Ok(error(format!(
                        "the link could not be sent by email: {other:?}"
                    ))),
                }
            }
            (PayMode::Sms | PayMode::Email, None) => Ok(error("the link has nowhere to go")),
        }
    }

    /// A link that could not be had: the payment marked so, *Payment error*.
    async fn payment_failed(
        &self,
        mut payment: PaymentRow,
        reason: String,
        turn: &mut engine::Turn,
        note: &impl Fn(&PaymentRow, Option<String>) -> engine::Event,
    ) -> Result<Performed> {
        payment.status = PaymentStatus::Error;
        payment.reason = Some(reason.clone());
        payment.updated_at = self.now();
        self.store.payment_set(&payment).await?;
        turn.events.push(note(&payment, Some(reason.clone())));
        Ok(error(reason))
    }

    // ---- the provider's webhook ----

    /// A payment module's webhook: checked, each event taken once, its outcome given to the
    /// interaction waiting on the payment. An event of no payment of this module is
    /// acknowledged without effect.
    pub async fn payment_webhook(
        &self,
        reference: &str,
        signature: Option<&[u8]>,
        body: &[u8],
    ) -> Result<()> {
        let unknown = || ConversationError::NotFound(format!("payment module '{reference}'"));
        let object = self
            .maker()
            .object_named(
                ObjectKind::PaymentModule,
                &flow::effect::ObjectName::Reference {
                    reference: reference.to_owned(),
                },
            )
            .await?
            .ok_or_else(unknown)?;
        let module: PaymentModuleData =
            serde_json::from_value(object.data.clone()).map_err(|_| unknown())?;
        let Some(secret) = object
            .webhook_secret
            .as_deref()
            .and_then(|s| self.secrets.open(s))
        else {
            return Err(ConversationError::Invalid(
                "invalid_signature",
                "the payment module has no webhook secret to check signatures with".into(),
            ));
        };
        let event = provider(module.provider)
            .event(&secret, signature, body, self.now().as_second())
            .map_err(|channels::ChannelError::Invalid(code, msg)| {
                ConversationError::Invalid(code, msg)
            })?;
        let Some(id) = event
            .payment
            .as_deref()
            .and_then(|p| Uuid::parse_str(p).ok())
        else {
            return Ok(());
        };
        let Some(payment) = self.store.payment_by_id(id).await? else {
            return Ok(());
        };
        if payment.module_id != object.id {
            return Ok(());
        }
        let (status, outcome) = match &event.happened {
            Happened::Paid => (
                PaymentStatus::Succeeded,
                Some(PaymentOutcome::Succeeded {
                    payment: id.to_string(),
                }),
            ),
            Happened::Pending => (PaymentStatus::Processing, None),
            Happened::Failed { reason } => (
                PaymentStatus::Failed,
                Some(PaymentOutcome::Failed {
                    reason: reason.clone(),
                }),
            ),
            Happened::Fraudulent { reason } => (
                PaymentStatus::Fraudulent,
                Some(PaymentOutcome::Fraudulent {
                    reason: reason.clone(),
                }),
            ),
            Happened::Stopped { reason } => (
                PaymentStatus::Stopped,
                Some(PaymentOutcome::Stopped {
                    reason: reason.clone(),
                }),
            ),
            Happened::BankTransferFailed { reason } => (
                PaymentStatus::BankTransferError,
                Some(PaymentOutcome::BankTransferError {
                    reason: reason.clone(),
                }),
            ),
            Happened::Other => return Ok(()),
        };
        let reason = match &outcome {
            Some(
                PaymentOutcome::Failed { reason }
                | PaymentOutcome::Fraudulent { reason }
                | PaymentOutcome::Stopped { reason }
                | PaymentOutcome::BankTransferError { reason },
            ) => Some(reason.clone()),
            _ => None,
        };
        self.store
            .payment_event(&PaymentEventWrite {
                module_id: object.id,
                event_id: event.id.clone(),
                payment_id: id,
                status,
                reason,
                paid_invoice: (status == PaymentStatus::Succeeded)
                    .then_some(payment.invoice_id)
                    .flatten(),
                at: self.now(),
            })
            .await?;
        // given again on every delivery of the event: the interaction takes it only while it
        // waits on a payment
        if let (Some(outcome), Some(interaction), "smart_routing") =
            (outcome, payment.interaction_id, payment.mode.as_str())
        {
            self.resume_payment(interaction, &payment.key, outcome)
                .await?;
        }
        Ok(())
    }

    /// Gives a payment's outcome to its interaction if it still waits on that payment.
    async fn resume_payment(
        &self,
        interaction: Uuid,
        key: &str,
        outcome: PaymentOutcome,
    ) -> Result<()> {
        let Some(row) = self.store.interaction(interaction).await? else {
            return Ok(());
        };
        // the payment asked for by the effect the interaction waits on, not an earlier one
        let waiting = engine::load_state(&row.state).ok().is_some_and(|s| {
            s.cursor
                .as_ref()
                .is_some_and(|c| matches!(c.effect, Some(Effect::Payment(_))))
                && crate::email_send::send_key(&s, "payment").to_string() == key
        });
        if !waiting {
            return Ok(());
        }
        let result = EffectResult::Payment(outcome);
        self.by_id(interaction, ById::Result(&result)).await?;
        Ok(())
    }

    // ---- the payments API ----

    /// Payments, newest first.
    pub async fn payments(
        &self,
        filter: &PaymentFilter,
        page: &PageRequest,
    ) -> Result<Page<Payment>> {
        let p = self.store.payments(filter, page).await?;
        Ok(Page {
            items: p.items.into_iter().map(Payment::from).collect(),
            next_after: p.next_after,
        })
    }

    /// One payment.
    pub async fn payment(&self, id: Uuid) -> Result<Payment> {
        self.store
            .payment_by_id(id)
            .await?
            .map(Payment::from)
            .ok_or_else(|| ConversationError::NotFound(format!("payment {id}")))
    }
}
