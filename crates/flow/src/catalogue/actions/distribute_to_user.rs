use super::prelude::*;

/// Which user receives the interaction.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "by", rename_all = "snake_case", deny_unknown_fields)]
pub enum UserTarget {
    Entity { id: EntityId },
    Reference { reference: RefCode },
    ReferenceFromVariable { variable: VarPath },
    /// The customer's owner.
    PreferredAgent,
}

/// Offers the interaction to one user.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DistributeToUser {
    pub user: UserTarget,
}

impl ActionType for DistributeToUser {
    const TYPE: &'static str = "distribute_to_user";
    const LABEL: &'static str = "Distribution to a user";
    const CATEGORY: Category = Category::Distribution;
    const FAMILIES: &'static [crate::ChannelFamily] = BOTH;
    const DESCRIPTION: &'static str = "Offers the interaction directly to a user, or to the customer's preferred agent.";
    const BRANCHES: &'static [BranchDef] =
        branches![ok "OK", error "Error", no_response "No response", reference_not_found "Reference not found"];

    fn references(&self) -> Vec<ObjectRef> {
        let selector = match &self.user {
            UserTarget::Entity { id } => Selector::Entity { id: id.clone() },
            UserTarget::Reference { reference } => Selector::Reference { reference: reference.clone() },
            UserTarget::ReferenceFromVariable { variable } => Selector::ReferenceFromVariable { variable: variable.clone() },
            UserTarget::PreferredAgent => return Vec::new(),
        };
        vec![ObjectRef::new(ObjectKind::User, &selector, "user")]
    }
}
