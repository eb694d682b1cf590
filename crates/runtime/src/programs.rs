//! The programs interactions run: every production version, built once per change of the
//! routings (the Maker's generation), plus the versions in test or preview, built per revision.

use std::collections::HashMap;
use std::sync::Arc;

use engine::{Key, Owner, Program, World};
use flow::catalogue::ObjectKind;
use flow::compile::NoResolver;
use flow::exec::Found;
use flow::objects::{Calendar, CalendarData, ValueTableData, VariableData};
use flow::{Routing, Version, VersionId};
use jiff::Timestamp;
use tokio::sync::RwLock;

use crate::maker::{Maker, MakerError};

/// Production programs, by version, and the production version of each routing; and the
/// business objects, by `id:…` and `ref:…`.
#[derive(Default)]
pub struct ProgramSet {
    generation: u64,
    production: HashMap<String, VersionId>,
    programs: HashMap<VersionId, Arc<Program>>,
    checkpoints: std::collections::HashSet<String>,
    tables: HashMap<String, Arc<IndexedTable>>,
    calendars: HashMap<String, Arc<Calendar>>,
    /// Declared variables, by name (their reference code).
    variables: HashMap<String, VariableData>,
    counts_contacts: bool,
}

impl ProgramSet {
    /// Whether a production program counts the customer's contacts (a hand-over can lead to
    /// it), computed once per set.
    pub fn counts_contacts(&self) -> bool {
        self.counts_contacts
    }
}

/// A values table with its lookup index.
struct IndexedTable {
    data: ValueTableData,
    index: HashMap<String, Option<String>>,
}

fn key(k: Key<'_>) -> String {
    match k {
        Key::Id(id) => format!("id:{id}"),
        Key::Reference(r) => format!("ref:{r}"),
    }
}

/// Builds and caches programs.
pub struct Programs {
    maker: Arc<Maker>,
    set: RwLock<Arc<ProgramSet>>,
    /// Development versions (in test or preview), by (id, revision): their trees change.
    others: RwLock<HashMap<(VersionId, u64), Arc<Program>>>,
    /// Backup versions, whose trees never change again: found without reading the store.
    frozen: RwLock<HashMap<VersionId, Arc<Program>>>,
}

/// Most non-production programs kept.
const OTHERS_MAX: usize = 1_000;

fn build(routing: &Routing, version: &Version) -> Option<Program> {
    let owner = Owner {
        routing_id: routing.id,
        routing_reference: routing.reference.clone(),
        family: routing.channel_family,
        kind: routing.kind,
    };
    match Program::build(&owner, version, &NoResolver) {
        Ok(p) => Some(p),
        Err(c) => {
            tracing::warn!(routing = %routing.reference, version = version.record.number, errors = c.error_count(), "a version cannot be run");
            None
        }
    }
}

impl Programs {
    pub fn new(maker: Arc<Maker>) -> Self {
        Programs {
            maker,
            set: RwLock::new(Arc::new(ProgramSet {
                generation: u64::MAX,
                ..ProgramSet::default()
            })),
            others: RwLock::new(HashMap::new()),
            frozen: RwLock::new(HashMap::new()),
        }
    }

    /// The production programs, rebuilt if routings changed since they were built.
    pub async fn production(&self) -> Result<Arc<ProgramSet>, MakerError> {
        let generation = self.maker.generation();
        {
            let set = self.set.read().await;
            if set.generation == generation {
                return Ok(set.clone());
            }
        }
        let mut guard = self.set.write().await;
        if guard.generation == generation {
            return Ok(guard.clone());
        }
        let mut set = ProgramSet {
            generation,
            ..ProgramSet::default()
        };
        for (routing, version) in self.maker.store().production_versions().await? {
            if let Some(p) = build(&routing, &version) {
                set.production
                    .insert(format!("id:{}", routing.id), version.record.id);
                set.production
                    .insert(format!("ref:{}", routing.reference), version.record.id);
                set.programs.insert(version.record.id, Arc::new(p));
            }
        }
        set.counts_contacts = set
            .programs
            .values()
            .any(|p| p.has_type("check_nth_contact"));
        for o in self.maker.store().all_objects().await? {
            let keys = [format!("id:{}", o.id), format!("ref:{}", o.reference)];
            match o.kind {
                ObjectKind::Checkpoint => set.checkpoints.extend(keys),
                ObjectKind::ValueTable => {
                    match serde_json::from_value::<ValueTableData>(o.data.clone()) {
                        Ok(t) => {
                            let entry = Arc::new(IndexedTable {
                                index: t.index(),
                                data: t,
                            });
                            for k in keys {
                                set.tables.insert(k, entry.clone());
                            }
                        }
                        Err(e) => {
                            tracing::warn!(table = %o.reference, "a values table cannot be read: {e}")
                        }
                    }
                }
                ObjectKind::Calendar => {
                    match serde_json::from_value::<CalendarData>(o.data.clone())
                        .map_err(|e| e.to_string())
                        .and_then(|d| Calendar::new(&d).map_err(|e| e.message))
                    {
                        Ok(c) => {
                            let c = Arc::new(c);
                            for k in keys {
                                set.calendars.insert(k, c.clone());
                            }
                        }
                        Err(e) => {
                            tracing::warn!(calendar = %o.reference, "a calendar cannot be read: {e}")
                        }
                    }
                }
                ObjectKind::Variable => match serde_json::from_value::<VariableData>(o.data) {
                    Ok(v) => {
                        set.variables.insert(o.reference, v);
                    }
                    Err(e) => {
                        tracing::warn!(variable = %o.reference, "a variable cannot be read: {e}")
                    }
                },
                _ => {}
            }
        }
        let set = Arc::new(set);
        *guard = set.clone();
        Ok(set)
    }

    /// The program of any version (production ones from the set).
    pub async fn version(
        &self,
        set: &ProgramSet,
        id: VersionId,
    ) -> Result<Option<Arc<Program>>, MakerError> {
        if let Some(p) = set.programs.get(&id) {
            return Ok(Some(p.clone()));
        }
        if let Some(p) = self.frozen.read().await.get(&id) {
            return Ok(Some(p.clone()));
        }
        let Some(version) = self.maker.store().version(id).await? else {
            return Ok(None);
        };
        let key = (id, version.record.revision);
        if let Some(p) = self.others.read().await.get(&key) {
            return Ok(Some(p.clone()));
        }
        let Some(routing) = self
            .maker
            .store()
            .routing(version.record.routing_id)
            .await?
        else {
            return Ok(None);
        };
        let Some(program) = build(&routing, &version).map(Arc::new) else {
            return Ok(None);
        };
        if version.record.status == flow::VersionStatus::Development {
            let mut others = self.others.write().await;
            if others.len() >= OTHERS_MAX {
                others.clear();
            }
            others.insert(key, program.clone());
        } else {
            // production and backup trees are read-only; a backup put back into production is
            // served from the production set first
            let mut frozen = self.frozen.write().await;
            if frozen.len() >= OTHERS_MAX {
                frozen.clear();
            }
            frozen.insert(id, program.clone());
        }
        Ok(Some(program))
    }

    /// The production program of a routing.
    pub fn production_of(set: &ProgramSet, routing: flow::RoutingId) -> Option<Arc<Program>> {
        set.production
            .get(&format!("id:{routing}"))
            .and_then(|v| set.programs.get(v))
            .cloned()
    }
}

/// What one turn may read.
pub struct Snapshot {
    pub set: Arc<ProgramSet>,
    pub pinned: Option<Arc<Program>>,
    pub time_zone: jiff::tz::TimeZone,
    pub phone_region: String,
    /// Start times of the customer's earlier interactions on the entry point.
    pub contacts: Vec<Timestamp>,
    /// Whether an agent has accepted the interaction.
    pub with_agent: bool,
}

impl World for Snapshot {
    fn program(&self, version: VersionId) -> Option<Arc<Program>> {
        match &self.pinned {
            Some(p) if p.version_id == version => Some(p.clone()),
            _ => self.set.programs.get(&version).cloned(),
        }
    }
    fn production(&self, routing: Key<'_>) -> Option<Arc<Program>> {
        let key = match routing {
            Key::Id(id) => format!("id:{id}"),
            Key::Reference(r) => format!("ref:{r}"),
        };
        self.set
            .production
            .get(&key)
            .and_then(|v| self.set.programs.get(v))
            .cloned()
    }
    fn checkpoint_exists(&self, checkpoint: Key<'_>) -> bool {
        self.set.checkpoints.contains(&key(checkpoint))
    }
    fn value_table(&self, table: Key<'_>, k: &str) -> Found<Option<String>> {
        match self.set.tables.get(&key(table)) {
            Some(t) => match t.index.get(&t.data.lookup_key(k)) {
                Some(v) => Found::Yes(v.clone()),
                None => Found::NotFound,
            },
            None => Found::NotFound,
        }
    }
    fn calendar_open(&self, calendar: Key<'_>, at: Timestamp) -> Found<bool> {
        match self.set.calendars.get(&key(calendar)) {
            Some(c) => Found::Yes(c.is_open(at)),
            None => Found::NotFound,
        }
    }
    fn variable(&self, name: &str) -> Option<&VariableData> {
        self.set.variables.get(name)
    }
    fn with_agent(&self) -> bool {
        self.with_agent
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
