//! A [`World`] held in memory: what tests, benchmarks and simulations run against, and the
//! shape of the snapshot the runtime builds from the store.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use flow::exec::Found;
use flow::objects::VariableData;
use flow::{RoutingId, VersionId};
use jiff::Timestamp;

use crate::machine::{Key, World};
use crate::program::Program;

/// Programs and business objects in memory.
#[derive(Clone)]
pub struct MemoryWorld {
    pub programs: HashMap<VersionId, Arc<Program>>,
    /// Production version of each routing, by id and by reference.
    pub production: HashMap<String, VersionId>,
    pub checkpoints: HashSet<String>,
    pub value_tables: HashMap<String, HashMap<String, Option<String>>>,
    /// Whether each calendar is open (a fixed answer; real calendars are evaluated by the runtime).
    pub calendars: HashMap<String, bool>,
    /// Start times of the customer's earlier contacts.
    pub contacts: Vec<Timestamp>,
    /// Declared variables, by name.
    pub variables: HashMap<String, VariableData>,
    pub time_zone: jiff::tz::TimeZone,
    pub phone_region: String,
}

impl MemoryWorld {
    pub fn new(time_zone: jiff::tz::TimeZone) -> Self {
        MemoryWorld {
            programs: HashMap::new(),
            production: HashMap::new(),
            checkpoints: HashSet::new(),
            value_tables: HashMap::new(),
            calendars: HashMap::new(),
            contacts: Vec::new(),
            variables: HashMap::new(),
            time_zone,
            phone_region: "FR".into(),
        }
    }

    /// Adds a program; `production` makes it its routing's production version.
    pub fn add(&mut self, program: Program, production: bool) -> Arc<Program> {
        let program = Arc::new(program);
        if production {
            self.production
                .insert(format!("id:{}", program.routing_id), program.version_id);
            self.production.insert(
                format!("ref:{}", program.routing_reference),
                program.version_id,
            );
        }
        self.programs.insert(program.version_id, program.clone());
        program
    }

    fn name(key: Key<'_>) -> String {
        match key {
            Key::Id(id) => id.to_owned(),
            Key::Reference(r) => r.to_owned(),
        }
    }

    /// Id of a routing's production version.
    pub fn production_of(&self, routing: RoutingId) -> Option<VersionId> {
        self.production.get(&format!("id:{routing}")).copied()
    }
}

impl World for MemoryWorld {
    fn program(&self, version: VersionId) -> Option<Arc<Program>> {
        self.programs.get(&version).cloned()
    }
    fn production(&self, routing: Key<'_>) -> Option<Arc<Program>> {
        let key = match routing {
            Key::Id(id) => format!("id:{id}"),
            Key::Reference(r) => format!("ref:{r}"),
        };
        self.production
            .get(&key)
            .and_then(|v| self.programs.get(v))
            .cloned()
    }
    fn checkpoint_exists(&self, checkpoint: Key<'_>) -> bool {
        self.checkpoints.contains(&Self::name(checkpoint))
    }
    fn value_table(&self, table: Key<'_>, key: &str) -> Found<Option<String>> {
        match self.value_tables.get(&Self::name(table)) {
            Some(t) => match t.get(key) {
                Some(v) => Found::Yes(v.clone()),
                None => Found::NotFound,
            },
            None => Found::NotFound,
        }
    }
    fn calendar_open(&self, calendar: Key<'_>, _at: Timestamp) -> Found<bool> {
        match self.calendars.get(&Self::name(calendar)) {
            Some(open) => Found::Yes(*open),
            None => Found::NotFound,
        }
    }
    fn variable(&self, name: &str) -> Option<&VariableData> {
        self.variables.get(name)
    }
    fn contacts_since(&self, since: Timestamp) -> u32 {
        self.contacts.iter().filter(|t| **t >= since).count() as u32
    }
    fn time_zone(&self) -> &jiff::tz::TimeZone {
        &self.time_zone
    }
    fn phone_region(&self) -> &str {
        &self.phone_region
    }
}
