//! Customers: listed, read, created ahead of their first contact, changed and deleted. The
//! conversations create customers themselves when they meet a new address on a channel.

use flow::customer::{self, Customer};
use flow::entry_point::Channel;
use flow::{FieldError, model};
use serde_json::{Map, Value};
use store::{CustomerFilter, CustomerWrite, Page, PageRequest, StoreError};
use uuid::Uuid;

use crate::conversations::{ConversationError, Conversations};
use crate::maker::MakerError;

/// Fields of a customer, as given when creating or changing one. Channel and address are the
/// customer's identity: given at creation, never changed.
#[derive(Clone, Debug, Default)]
pub struct CustomerFields {
    pub channel: Option<Channel>,
    pub address: Option<String>,
    /// `Some(None)` removes the reference.
    pub reference: Option<Option<String>>,
    pub name: Option<String>,
    pub fields: Option<Map<String, Value>>,
    /// `Some(None)` removes the owner.
    pub owner_id: Option<Option<Uuid>>,
}

type Result<T> = std::result::Result<T, ConversationError>;

fn field(e: FieldError) -> ConversationError {
    ConversationError::Maker(MakerError::Field(e))
}

fn refused(e: StoreError, c: &Customer) -> ConversationError {
    match e {
        StoreError::Unique("reference") => ConversationError::Invalid(
            "reference_taken",
            format!(
                "the reference '{}' is already used by another customer",
                c.reference.as_deref().unwrap_or_default()
            ),
        ),
        StoreError::Unique(_) => ConversationError::Invalid(
            "customer_exists",
            format!(
                "a customer with the address '{}' on {} exists already: {}",
                c.address,
                c.channel.as_str(),
                c.id
            ),
        ),
        other => other.into(),
    }
}

fn apply(c: &mut Customer, f: CustomerFields) -> Result<()> {
    if let Some(r) = f.reference {
        c.reference = r
            .map(|r| model::check_reference(&r))
            .transpose()
            .map_err(field)?;
    }
    if let Some(n) = f.name {
        c.name = customer::check_customer_name(&n).map_err(field)?;
    }
    if let Some(fields) = f.fields {
        c.fields = customer::check_fields(&fields).map_err(field)?;
    }
    Ok(())
}

impl Conversations {
    /// An owner must be a user.
    async fn check_owner(&self, owner: Option<Uuid>) -> Result<()> {
        let (Some(owner), Some(d)) = (owner, self.distribution()) else {
            return Ok(());
        };
        match d.user(owner).await {
            Ok(_) => Ok(()),
            Err(ConversationError::NotFound(_)) => Err(field(FieldError {
                field: "owner_id",
                message: format!("no user {owner}"),
            })),
            Err(e) => Err(e),
        }
    }

    pub async fn customer(&self, id: Uuid) -> Result<Customer> {
        self.store()
            .customer(id)
            .await?
            .ok_or_else(|| ConversationError::NotFound(format!("customer {id}")))
    }

    /// The customer of a conversation the agent holds or is offered (none for a customer
    /// since deleted) and their latest `previous` other interactions, newest first.
    pub async fn agent_customer(
        &self,
        user: Uuid,
        interaction: Uuid,
        previous: u32,
    ) -> Result<(Option<Customer>, Vec<flow::interaction::Interaction>)> {
        self.agent_may_read(user, interaction).await?;
        let row = self
            .store()
            .interaction(interaction)
            .await?
            .ok_or_else(|| ConversationError::NotFound(format!("interaction {interaction}")))?;
        let Some(cid) = row.customer_id else {
            return Ok((None, Vec::new()));
        };
        let Some(customer) = self.store().customer(cid).await? else {
            return Ok((None, Vec::new()));
        };
        let filter = store::InteractionFilter {
            customer_id: Some(cid),
            ..Default::default()
        };
        let page = PageRequest {
            limit: previous + 1,
            after: None,
        };
        let others = self
            .interactions(&filter, &page)
            .await?
            .items
            .into_iter()
            .filter(|i| i.id != interaction)
            .take(previous as usize)
            .collect();
        Ok((Some(customer), others))
    }

    pub async fn customers(
        &self,
        filter: &CustomerFilter,
        page: &PageRequest,
    ) -> Result<Page<Customer>> {
        Ok(self.store().customers(filter, page).await?)
    }

    /// Creates a customer before their first contact (e.g. imported from a CRM).
    pub async fn create_customer(&self, f: CustomerFields) -> Result<Customer> {
        let (Some(channel), Some(address)) = (f.channel, f.address.clone()) else {
            return Err(field(FieldError {
                field: "address",
                message: "channel and address are required".into(),
            }));
        };
        let address = customer::check_address(&address).map_err(field)?;
        let mut c = Customer::new(channel, &address, self.now());
        if let Some(owner) = f.owner_id {
            self.check_owner(owner).await?;
            c.owner_id = owner;
        }
        apply(&mut c, f)?;
        self.store()
            .write_customer(CustomerWrite::Insert(c.clone()))
            .await
            .map_err(|e| refused(e, &c))?;
        Ok(c)
    }

    pub async fn update_customer(
        &self,
        id: Uuid,
        f: CustomerFields,
        if_match: Option<u64>,
    ) -> Result<Customer> {
        let current = self.customer(id).await?;
        if let Some(expected) = if_match
            && expected != current.revision
        {
            return Err(ConversationError::Maker(MakerError::PreconditionFailed {
                current: current.revision,
            }));
        }
        let identity_changed = f.channel.is_some_and(|c| c != current.channel)
            || f.address.as_ref().is_some_and(|a| *a != current.address);
        if identity_changed {
            return Err(ConversationError::Maker(MakerError::Immutable(
                "a customer's channel and address",
            )));
        }
        let mut next = current.clone();
        if let Some(owner) = f.owner_id {
            self.check_owner(owner).await?;
            next.owner_id = owner;
        }
        apply(&mut next, f)?;
        next.revision += 1;
        next.updated_at = self.now();
        self.store()
            .write_customer(CustomerWrite::Update {
                customer: next.clone(),
                expected_revision: current.revision,
            })
            .await
            .map_err(|e| match e {
                StoreError::Conflict => ConversationError::Maker(MakerError::Busy),
                other => refused(other, &next),
            })?;
        Ok(next)
    }

    /// Deletes a customer; their past interactions stay, unlinked. The next contact from the
    /// same address starts a new customer with no history.
    pub async fn delete_customer(&self, id: Uuid) -> Result<()> {
        match self
            .store()
            .write_customer(CustomerWrite::Delete { id })
            .await
        {
            Ok(()) => Ok(()),
            Err(StoreError::Conflict) => Err(ConversationError::NotFound(format!("customer {id}"))),
            Err(e) => Err(e.into()),
        }
    }
}
