//! Outbound campaigns (seed 003 §9): the three campaign actions performed for a turn, and the
//! targets API (a campaign's targets listed and exported as CSV for the dialler or sender that
//! works through them — that one is outside Switchyard).
//!
//! A target is keyed by its request (`send_key`), so a turn performed again after a crash
//! finds the target it inserted instead of inserting a second (and is answered *OK* again).

use flow::campaigns::{CampaignData, DuplicateRule, limits};
use flow::catalogue::ObjectKind;
use flow::effect::{CampaignChannel, TargetOutcome, TargetRequest};
use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Map, Value};
use store::{Page, PageRequest, TargetInsert, TargetRow};
use uuid::Uuid;

use crate::conversations::{Conversations, Result};
use crate::error::ConversationError;

/// The kind of a campaign's business object.
pub fn kind_of(channel: CampaignChannel) -> ObjectKind {
    match channel {
        CampaignChannel::WhatsApp => ObjectKind::WhatsappCampaign,
        CampaignChannel::Voice => ObjectKind::VoiceCampaign,
        CampaignChannel::Sms => ObjectKind::SmsCampaign,
    }
}

/// A campaign target, as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Target {
    pub id: Uuid,
    pub campaign_id: Uuid,
    pub phone: String,
    pub start_at: Timestamp,
    pub priority: Option<i64>,
    pub layout: Option<String>,
    pub fields: Map<String, Value>,
    pub status: String,
    pub customer_id: Option<Uuid>,
    pub interaction_id: Option<Uuid>,
    pub created_at: Timestamp,
}

impl From<TargetRow> for Target {
    fn from(t: TargetRow) -> Self {
        Target {
            id: t.id,
            campaign_id: t.campaign_id,
            phone: t.phone,
            start_at: t.start_at,
            priority: t.priority,
            layout: t.layout,
            fields: t.fields,
            status: t.status,
            customer_id: t.customer_id,
            interaction_id: t.interaction_id,
            created_at: t.created_at,
        }
    }
}

fn error(reason: impl Into<String>) -> TargetOutcome {
    TargetOutcome::Error {
        reason: reason.into(),
    }
}

impl Conversations {
    /// Performs a campaign action: the campaign read, the priority, layout and fields checked
    /// against it, the duplicate rule applied, the target inserted.
    pub(crate) async fn campaign_target(
        &self,
        state: &engine::State,
        req: &TargetRequest,
    ) -> Result<TargetOutcome> {
        let Some(object) = self
            .maker()
            .object_named(kind_of(req.channel), &req.campaign)
            .await?
        else {
            return Ok(TargetOutcome::ReferenceNotFound);
        };
        let Ok(campaign) = serde_json::from_value::<CampaignData>(object.data.clone()) else {
            return Ok(error("the campaign's data cannot be read"));
        };
        if let Some(p) = req.priority
            && !(campaign.priority_min..=campaign.priority_max).contains(&p)
        {
            return Ok(error(format!(
                "the priority {p} is outside the campaign's {} to {}",
                campaign.priority_min, campaign.priority_max
            )));
        }
        let (layout, fields) = match &req.layout {
            None => (None, Map::new()),
            Some(name) => {
                let Some(layout) = campaign.layout(name) else {
                    return Ok(error(format!("the campaign has no layout '{name}'")));
                };
                match layout.check_values(&req.fields) {
                    Ok(fields) => (Some(layout.name.clone()), fields),
                    Err(reason) => return Ok(error(reason)),
                }
            }
        };
        let key = crate::email_send::send_key(state, "campaign").to_string();
        if !req.insert_if_duplicate && campaign.duplicate_rule != DuplicateRule::None {
            let pending_only = campaign.duplicate_rule == DuplicateRule::PendingNumber;
            if self
                .store
                .target_held(object.id, &req.phone, pending_only)
                .await?
            {
                return Ok(TargetOutcome::Duplicate);
            }
        }
        let target = TargetRow {
            id: Uuid::now_v7(),
            key,
            campaign_id: object.id,
            phone: req.phone.clone(),
            start_at: req.start_at,
            priority: req.priority,
            layout,
            fields,
            status: "pending".into(),
            customer_id: crate::cases::customer_of(state),
            interaction_id: Some(state.interaction_id()).filter(|i| !i.is_nil()),
            created_at: self.now(),
        };
        Ok(
            match self.store.target_insert(&target, limits::TARGETS).await? {
                TargetInsert::Inserted | TargetInsert::Again => TargetOutcome::Inserted {
                    target: target.id.to_string(),
                },
                TargetInsert::Full => error(format!(
                    "the campaign holds its largest number of targets ({})",
                    limits::TARGETS
                )),
            },
        )
    }

    /// A campaign of any channel by id.
    async fn campaign_object(&self, id: Uuid) -> Result<flow::objects::BusinessObject> {
        for kind in [
            ObjectKind::WhatsappCampaign,
            ObjectKind::VoiceCampaign,
            ObjectKind::SmsCampaign,
        ] {
            let name = flow::effect::ObjectName::Entity { id: id.to_string() };
            if let Some(o) = self.maker().object_named(kind, &name).await? {
                return Ok(o);
            }
        }
        Err(ConversationError::NotFound(format!("campaign {id}")))
    }

    /// A campaign's targets in the order they were inserted.
    pub async fn campaign_targets(
        &self,
        campaign: Uuid,
        page: &PageRequest,
    ) -> Result<Page<Target>> {
        self.campaign_object(campaign).await?;
        let p = self.store.targets(campaign, page).await?;
        Ok(Page {
            items: p.items.into_iter().map(Target::from).collect(),
            next_after: p.next_after,
        })
    }

    /// A page of a campaign's targets as CSV lines (the header first when `after` is none:
    /// `phone`, `start_at`, `priority`, `layout`, `status`, then each field of the campaign's
    /// layouts), and the cursor of the next page.
    pub async fn campaign_export_page(
        &self,
        campaign: Uuid,
        after: Option<Uuid>,
    ) -> Result<(Vec<u8>, Option<Uuid>)> {
        let object = self.campaign_object(campaign).await?;
        let data: CampaignData = serde_json::from_value(object.data).unwrap_or(CampaignData {
            layouts: Vec::new(),
            priority_min: 0,
            priority_max: limits::PRIORITY_MAX,
            duplicate_rule: DuplicateRule::default(),
        });
        let mut names: Vec<String> = Vec::new();
        for f in data.layouts.iter().flat_map(|l| &l.fields) {
            if !names.contains(&f.name) {
                names.push(f.name.clone());
            }
        }
        let page = self
            .store
            .targets(campaign, &PageRequest { limit: 500, after })
            .await?;
        let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
        let csv_error = |e: csv::Error| ConversationError::NotRecorded(e.to_string());
        if after.is_none() {
            let mut header = vec!["id", "phone", "start_at", "priority", "layout", "status"];
            header.extend(names.iter().map(String::as_str));
            w.write_record(&header).map_err(csv_error)?;
        }
        for t in &page.items {
            let mut record = vec![
                t.id.to_string(),
                t.phone.clone(),
                t.start_at.to_string(),
                t.priority.map(|p| p.to_string()).unwrap_or_default(),
                t.layout.clone().unwrap_or_default(),
                t.status.clone(),
            ];
            record.extend(names.iter().map(|n| match t.fields.get(n) {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
            }));
            w.write_record(&record).map_err(csv_error)?;
        }
        let bytes = w
            .into_inner()
            .map_err(|e| ConversationError::NotRecorded(e.to_string()))?;
        Ok((bytes, page.next_after))
    }
}
