//! The configuration the three campaign actions share.

use super::prelude::*;

/// Inserts a target into an outbound campaign.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[serde(bound = "")]
#[schemars(bound = "K: Kind")]
pub struct CampaignTarget<K: Kind> {
    pub campaign: Of<K>,
    /// Insert even when the number is already a target.
    #[serde(default)]
    pub insert_if_duplicate: bool,
    pub phone: Template<1, 64>,
    /// When absent, the current date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_date: Option<Template<1, 64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<NumberOrVariable<0, 100>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layout: Option<Text<1, 128>>,
    #[serde(default)]
    pub fields: List<FieldValue, 0, 50>,
}

/// Branches of every campaign action.
pub const BRANCHES: &[BranchDef] = branches![
    ok "OK", reference_not_found "Reference not found", error "Error",
    duplication "Duplication", invalid_number "Invalid number"
];

/// Description of every campaign action.
pub const DESCRIPTION: &str = "Inserts the customer as a target of an outbound campaign.";

impl<K: Kind> CampaignTarget<K> {
    pub fn checks(&self, issues: &mut Vec<ParamIssue>) {
        if self.layout.is_none() && !self.fields.is_empty() {
            issues.push(ParamIssue::new(
                "fields",
                "campaign target fields need a layout",
            ));
        }
    }

    pub fn reference(&self) -> Vec<ObjectRef> {
        vec![ObjectRef::of(&self.campaign, "campaign")]
    }
}

impl<K: Kind> CampaignTarget<K> {
    /// The campaign's channel.
    fn channel() -> CampaignChannel {
        match K::KIND {
            ObjectKind::WhatsappCampaign => CampaignChannel::WhatsApp,
            ObjectKind::SmsCampaign => CampaignChannel::Sms,
            _ => CampaignChannel::Voice,
        }
    }

    /// Reads the number (a mobile one for WhatsApp and SMS; any for voice), the start date
    /// (the turn's time when none or empty), the priority (a number, or a variable holding
    /// one) and the layout's fields, and asks for the target to be inserted.
    pub fn run(&self, cx: &mut dyn Cx) -> Step {
        let Some(campaign) = object_name(cx, &self.campaign) else {
            cx.set_error("the variable holding the campaign's reference is empty");
            return Step::Branch("reference_not_found");
        };
        let channel = Self::channel();
        let written = cx.render(&self.phone.0).trim().to_owned();
        let phone = match (
            crate::customer::phone_kind(&written, cx.phone_region()),
            channel,
        ) {
            (crate::customer::PhoneKind::Mobile(n), _) => n,
            (crate::customer::PhoneKind::NotMobile(n), CampaignChannel::Voice) => n,
            (crate::customer::PhoneKind::NotMobile(n), _) => {
                cx.set_error(&format!("{n} is not a mobile phone number"));
                return Step::Branch("invalid_number");
            }
            (crate::customer::PhoneKind::Invalid, _) => {
                cx.set_error(&format!(
                    "'{}' is not a phone number",
                    written.chars().take(64).collect::<String>()
                ));
                return Step::Branch("invalid_number");
            }
        };
        let start_at = match self
            .start_date
            .as_ref()
            .map(|t| cx.render(&t.0).trim().to_owned())
            .filter(|t| !t.is_empty())
        {
            None => cx.now(),
            Some(t) => match crate::exec::parse_when(&t, cx.time_zone()) {
                Some(z) => z.timestamp(),
                None => {
                    cx.set_error(&format!("the start date '{t}' is not a date"));
                    return Step::Branch("error");
                }
            },
        };
        let priority = match &self.priority {
            None => None,
            Some(NumberOrVariable::Value { value }) => Some(value.0),
            Some(NumberOrVariable::Variable { variable }) => {
                let held = cx.get(&variable.0).map(value_text).unwrap_or_default();
                match held.trim().parse::<i64>() {
                    Ok(n) => Some(n),
                    Err(_) => {
                        cx.set_error(&format!("the priority '{held}' is not a whole number"));
                        return Step::Branch("error");
                    }
                }
            }
        };
        let fields = self
            .fields
            .0
            .iter()
            .map(|f| (f.field.0.clone(), cx.render(&f.value.0).trim().to_owned()))
            .collect();
        Step::Effect {
            effect: Effect::CampaignTarget(TargetRequest {
                channel,
                campaign,
                phone,
                start_at,
                priority,
                layout: self.layout.as_ref().map(|l| l.0.clone()),
                fields,
                insert_if_duplicate: self.insert_if_duplicate,
            }),
            memo: Value::Null,
        }
    }

    /// *OK* once inserted; *Reference not found* when there is no such campaign;
    /// *Duplication* when the number is a target already under the campaign's duplicate rule
    /// (unless "insert if duplicate"); *Error* otherwise — a priority out of the campaign's
    /// range, a layout or field it lacks, a value that does not fit its field, the campaign
    /// full — `system.error` saying why. *Invalid number* is taken before asking: the number
    /// is none, or not a mobile one for a WhatsApp or SMS campaign.
    pub fn resume(&self, cx: &mut dyn Cx, wake: Wake<'_>) -> Step {
        let Wake::Result(EffectResult::Campaign(outcome)) = wake else {
            return Step::Unavailable("a campaign insertion waits for its answer");
        };
        match outcome {
            TargetOutcome::Inserted { .. } => Step::Branch("ok"),
            TargetOutcome::ReferenceNotFound => Step::Branch("reference_not_found"),
            TargetOutcome::Duplicate => Step::Branch("duplication"),
            TargetOutcome::Error { reason } => {
                cx.set_error(reason);
                Step::Branch("error")
            }
        }
    }
}

/// Defines a campaign action type over [`CampaignTarget`].
macro_rules! campaign_action {
    ($ty:ident, $key:literal, $label:literal, $kind:ident) => {
        use super::campaign_common::{self, CampaignTarget};
        use super::prelude::*;

        #[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
        #[serde(transparent)]
        pub struct $ty(pub CampaignTarget<kind::$kind>);

        impl ActionType for $ty {
            const TYPE: &'static str = $key;
            const LABEL: &'static str = $label;
            const CATEGORY: Category = Category::Campaigns;
            const FAMILIES: &'static [crate::ChannelFamily] = BOTH;
            const DESCRIPTION: &'static str = campaign_common::DESCRIPTION;
            const BRANCHES: &'static [BranchDef] = campaign_common::BRANCHES;

            fn check(&self, issues: &mut Vec<ParamIssue>) {
                self.0.checks(issues);
            }
            fn references(&self) -> Vec<ObjectRef> {
                self.0.reference()
            }
            runs_itself!();
        }

        impl Run for $ty {
            fn run(&self, cx: &mut dyn Cx) -> Step {
                self.0.run(cx)
            }
            fn resume(&self, cx: &mut dyn Cx, _memo: &Value, wake: Wake<'_>) -> Step {
                self.0.resume(cx, wake)
            }
        }
    };
}
pub(crate) use campaign_action;
