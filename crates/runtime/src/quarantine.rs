//! Quarantine: an interaction whose engine panicked or whose state cannot be read records its
//! inputs without running them, visibly, until it is retried.

use engine::{Event, Input, load_state};
use jiff::Timestamp;
use serde_json::Value;
use store::{EventRow, InteractionRow, TurnWrite};
use uuid::Uuid;

use crate::conversations::Conversations;
use crate::error::{ConversationError, Result};
use crate::turn::status_of;
use flow::interaction::InteractionStatus;

impl Conversations {
    /// A turn that runs nothing: it records the input on a quarantined interaction (or
    /// quarantines it, with `quarantine` as the reason) and keeps its state as it was.
    pub(crate) fn record_only(
        mut row: InteractionRow,
        input: Input<'_>,
        inbound: Option<(Uuid, String)>,
        now: Timestamp,
        quarantine: Option<String>,
    ) -> TurnWrite {
        let mut events = Vec::new();
        let mut push = |row: &mut InteractionRow, e: Event| {
            events.push(EventRow {
                interaction_id: row.id,
                seq: row.next_seq,
                at: now,
                event: serde_json::to_value(e).unwrap_or(Value::Null),
            });
            row.next_seq += 1;
        };
        if let Input::Message(m) = input {
            push(
                &mut row,
                Event::MessageIn {
                    text: m.text.clone(),
                    choice: m.choice,
                    attachments: m.attachments.len(),
                    media: m.attachments.clone(),
                },
            );
        }
        match quarantine {
            Some(reason) => {
                tracing::error!(interaction = %row.id, "interaction quarantined: {reason}");
                push(
                    &mut row,
                    Event::Error {
                        action: None,
                        code: "quarantined".into(),
                        message: reason,
                    },
                );
            }
            None => push(
                &mut row,
                Event::Ignored {
                    reason: "the interaction is quarantined; retry it to resume".into(),
                },
            ),
        }
        row.status = InteractionStatus::Quarantined;
        row.wake_at = None;
        let expected = Some(row.revision);
        row.revision += 1;
        row.updated_at = now;
        TurnWrite {
            interaction: row,
            expected_revision: expected,
            inbound,
            events,
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
        }
    }

    /// The turn that takes an interaction out of quarantine: its status and timer as its saved
    /// state says, a `retried` event.
    pub(crate) fn retried(&self, mut row: InteractionRow) -> Result<TurnWrite> {
        if row.status != InteractionStatus::Quarantined {
            return Err(ConversationError::Invalid(
                "not_quarantined",
                format!("interaction {} is not quarantined", row.id),
            ));
        }
        let state = load_state(&row.state).map_err(|e| {
            ConversationError::Invalid("corrupt_state", format!("still unreadable: {e}"))
        })?;
        let now = self.now();
        let event = EventRow {
            interaction_id: row.id,
            seq: row.next_seq,
            at: now,
            event: serde_json::to_value(Event::Retried).unwrap_or(Value::Null),
        };
        row.next_seq += 1;
        row.status = status_of(&state);
        row.wake_at = engine::next_wake(&state, now, self.inactivity);
        let expected = Some(row.revision);
        row.revision += 1;
        row.updated_at = now;
        Ok(TurnWrite {
            interaction: row,
            expected_revision: expected,
            inbound: None,
            events: vec![event],
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
    }
}
