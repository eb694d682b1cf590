super::campaign_common::campaign_action!(
    InsertVoiceCampaignTarget,
    "insert_voice_campaign_target",
    "Insert a target in a voice campaign",
    VoiceCampaign
);
