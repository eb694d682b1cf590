//! One file per action type. To add one: write its file, then add one line to `registry!`.

mod prelude {
    pub use crate::branches;
    pub use crate::catalogue::params::*;
    pub use crate::catalogue::{
        ActionType, BOTH, BranchDef, Category, EMAIL, MESSAGING, ObjectKind, ObjectRef, ParamIssue,
    };
    pub use crate::effect::{
        AmountToCharge, CampaignChannel, CaseOutcome, CaseRequest, CrmOutcome, CrmRequest,
        DatabaseOutcome, DatabaseRequest, Distribute, DistributionOutcome, Effect, EffectResult,
        EmailOutcome, EmailRequest, EmailSender, InvoiceOutcome, InvoiceQuery, ObjectName,
        PaymentOf, PaymentOutcome, PaymentRequest, SalesforceOutcome, SalesforceRequest,
        SalesforceTask, SmsOutcome, SmsRequest, SurveyOutcome, SurveyRequest, TargetOutcome,
        TargetRequest, TaskOutcome, TaskRequest, TransferRequest, UserName, WebServiceCall,
        WebServiceOutcome,
    };
    pub use crate::exec::{Cx, Found, Outbound, Run, Step, Wake, value_text};
    pub use schemars::JsonSchema;
    pub use serde::{Deserialize, Serialize};
    pub use serde_json::{Value, json};

    /// Branch keys Link 1 … Link 10.
    pub const LINKS: [&str; 10] = [
        "link_1", "link_2", "link_3", "link_4", "link_5", "link_6", "link_7", "link_8", "link_9",
        "link_10",
    ];

    /// Declares, inside an `impl ActionType`, that the type runs with its own [`Run`] impl.
    macro_rules! runs_itself {
        () => {
            const RUNS: bool = true;
            fn runner(self) -> Option<Box<dyn Run>> {
                Some(Box::new(self))
            }
        };
    }
    pub(crate) use runs_itself;

    /// `link_k` → `k`.
    pub fn link_index(branch: &str) -> Option<usize> {
        branch.strip_prefix("link_")?.parse().ok()
    }

    /// A selector as an effect request names it, a reference read from a variable resolved
    /// (`None` when the variable is empty).
    pub fn object_name(cx: &dyn Cx, selector: &Selector) -> Option<ObjectName> {
        match selector {
            Selector::Entity { id } => Some(ObjectName::Entity { id: id.0.clone() }),
            Selector::Reference { reference } => Some(ObjectName::Reference {
                reference: reference.0.clone(),
            }),
            Selector::ReferenceFromVariable { .. } => cx
                .reference(selector)
                .map(|reference| ObjectName::Reference { reference }),
        }
    }

    /// Puts the reason of a distribution outcome (if any) in `system.error`.
    pub fn note_reason(cx: &mut dyn Cx, outcome: &DistributionOutcome) {
        if let Some(reason) = outcome.reason() {
            cx.set_error(reason);
        }
    }
}

mod campaign_common;
mod case_common;
mod crm_common;
mod database_common;

/// Items of action files that other crates use.
pub mod public {
    pub use super::message_awaiting_response::{AnswerType, LONG_TEXT_MAX, validate_answer};
    pub use super::message_with_choice::{choose, fold};
    pub use super::test_email_priority::priority_of;
}

macro_rules! registry {
    ($($module:ident :: $ty:ident),* $(,)?) => {
        $(mod $module;)*
        /// Every action type, in catalogue order.
        pub static REGISTRY: &[&'static dyn super::Spec] = &[$(&super::Entry::<$module::$ty>::NEW),*];
    };
}

registry![
    start::Start,
    load_sharing::LoadSharing,
    add_checkpoint::AddCheckpoint,
    pause::Pause,
    node::Node,
    associate_case::AssociateCase,
    associate_crm_card::AssociateCrmCard,
    associate_crm_v2_card::AssociateCrmV2Card,
    create_crm_card::CreateCrmCard,
    create_crm_v2_card::CreateCrmV2Card,
    create_task::CreateTask,
    dissociate_case::DissociateCase,
    create_case::CreateCase,
    modify_case::ModifyCase,
    email_to_salesforce_query::EmailToSalesforceQuery,
    assign_variables::AssignVariables,
    test_values::TestValues,
    values_table::ValuesTable,
    fill_variables_from_database::FillVariablesFromDatabase,
    save_to_database::SaveToDatabase,
    modify_database::ModifyDatabase,
    date_time::DateTime,
    check_passages::CheckPassages,
    check_nth_contact::CheckNthContact,
    distribute_to_queue::DistributeToQueue,
    distribute_to_routing::DistributeToRouting,
    distribute_to_user::DistributeToUser,
    web_service::WebService,
    test_email_priority::TestEmailPriority,
    detect_keywords::DetectKeywords,
    detect_language::DetectLanguage,
    transfer_email::TransferEmail,
    simple_message::SimpleMessage,
    message_awaiting_response::MessageAwaitingResponse,
    message_with_choice::MessageWithChoice,
    send_email::SendEmail,
    send_sms::SendSms,
    insert_whatsapp_campaign_target::InsertWhatsappCampaignTarget,
    insert_voice_campaign_target::InsertVoiceCampaignTarget,
    insert_sms_campaign_target::InsertSmsCampaignTarget,
    test_schedule::TestSchedule,
    test_even_odd_week::TestEvenOddWeek,
    survey::Survey,
    search_invoice::SearchInvoice,
    pay_invoice::PayInvoice,
];
