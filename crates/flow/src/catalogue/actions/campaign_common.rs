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
        }
    };
}
pub(crate) use campaign_action;
