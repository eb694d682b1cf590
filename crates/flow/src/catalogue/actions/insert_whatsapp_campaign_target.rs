super::campaign_common::campaign_action!(
    InsertWhatsappCampaignTarget,
    "insert_whatsapp_campaign_target",
    "Insert a target in a WhatsApp campaign",
    WhatsappCampaign
);
