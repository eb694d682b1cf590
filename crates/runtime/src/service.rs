//! The services of a server, built one way for the binary, the tests and the benchmarks: the
//! Maker, the conversations with the distribution attached, and their background loops.

use std::sync::Arc;

use store::{AccessStore, AgentStore, InteractionStore, Store};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::access::Access;
use crate::clock::Clock;
use crate::conversations::{Conversations, Settings};
use crate::distribution::{Distribution, DistributionSettings};
use crate::error::{ConversationError, Result};
use crate::maker::Maker;

/// How the services run.
#[derive(Clone, Debug)]
pub struct ServiceSettings {
    /// The deployment's time zone (dates without one, "same date" of planned productions).
    pub time_zone: jiff::tz::TimeZone,
    pub conversations: Settings,
    pub distribution: DistributionSettings,
    /// The bootstrap administrator token (`SWITCHYARD_ADMIN_TOKEN`), at least 32 characters.
    pub admin_token: Option<String>,
}

impl Default for ServiceSettings {
    fn default() -> Self {
        ServiceSettings {
            time_zone: jiff::tz::TimeZone::UTC,
            conversations: Settings::default(),
            distribution: DistributionSettings::default(),
            admin_token: None,
        }
    }
}

/// The running services.
pub struct Services {
    pub maker: Arc<Maker>,
    pub conversations: Arc<Conversations>,
    pub distribution: Arc<Distribution>,
    pub access: Arc<Access>,
}

/// The background loops, until their stop signal.
pub struct Background(Vec<JoinHandle<()>>);

impl Background {
    /// Waits for every loop to stop.
    pub async fn join(self) {
        for task in self.0 {
            let _ = task.await;
        }
    }
}

impl Services {
    /// Builds the services on one store (the distribution rebuilt from it).
    pub async fn start<S>(
        store: S,
        clock: Arc<dyn Clock>,
        settings: ServiceSettings,
    ) -> Result<Self>
    where
        S: Store + InteractionStore + AgentStore + AccessStore + Clone + 'static,
    {
        let maker = Arc::new(Maker::new(
            Arc::new(store.clone()),
            clock.clone(),
            settings.time_zone,
        ));
        let conversations = Conversations::start(
            Arc::new(store.clone()),
            maker.clone(),
            settings.conversations,
        );
        let distribution = Distribution::load(
            Arc::new(store.clone()),
            maker.clone(),
            settings.distribution,
        )
        .await?;
        conversations.attach_distribution(distribution.clone());
        let access = Access::new(
            Arc::new(store),
            clock,
            distribution.clone(),
            settings.admin_token.as_deref(),
        )
        .map_err(|e| ConversationError::Invalid("weak_bootstrap_token", e.to_string()))?;
        access.load_roles().await?;
        Ok(Services {
            maker,
            conversations,
            distribution,
            access: Arc::new(access),
        })
    }

    /// Starts the loops: scheduled productions, interaction timers, the outbox, the
    /// distribution's timers. They stop when `stop` turns true.
    pub fn spawn_background(&self, stop: watch::Receiver<bool>) -> Background {
        Background(vec![
            tokio::spawn(crate::scheduler::run(self.maker.clone(), stop.clone())),
            tokio::spawn(crate::delivery::run_timers(
                self.conversations.clone(),
                stop.clone(),
            )),
            tokio::spawn(crate::delivery::run_outbox(
                self.conversations.clone(),
                stop.clone(),
            )),
            tokio::spawn(crate::delivery::run_web_calls(
                self.conversations.clone(),
                stop.clone(),
            )),
            tokio::spawn(crate::agents::run_distribution_timers(
                self.conversations.clone(),
                stop.clone(),
            )),
            tokio::spawn(crate::retention::run_retention(
                self.conversations.clone(),
                stop.clone(),
            )),
            tokio::spawn(crate::imap::run(self.conversations.clone(), stop)),
        ])
    }
}
