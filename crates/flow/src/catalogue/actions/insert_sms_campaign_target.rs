super::campaign_common::campaign_action!(
    InsertSmsCampaignTarget,
    "insert_sms_campaign_target",
    "Insert a target in the SMS campaign",
    SmsCampaign
);
