//! The Maker service: everything an administrator does to routings and versions. Each
//! operation loads what it needs, applies a rule or an edit from `flow` to a copy, and commits
//! the result in one guarded transaction; when another writer got there first it starts again
//! (or reports the conflict when the caller pinned a revision with `If-Match`).

use std::collections::HashMap;
use std::sync::Arc;

use flow::catalogue::{ObjectKind, Selector};
use flow::compile::{self, Compiled, Lookup, Resolver};
use flow::document::{self, DocumentError, DocumentReport, RoutingDocument};
use flow::lifecycle::{self, RuleError, TreeState};
use flow::tree::{Tree, TreeError};
use flow::{
    ChannelFamily, FieldError, Routing, RoutingId, RoutingKind, ScheduleFailure, Version,
    VersionId, VersionRecord, VersionStatus, limits, model,
};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use store::{
    Changes, Page, PageRequest, RoutingFilter, RoutingWrite, Store, StoreError, VersionWrite,
};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::clock::Clock;

/// How many times an operation is retried when another writer changed the data meanwhile.
const RETRIES: usize = 8;

/// Why a Maker operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum MakerError {
    #[error("{0} not found")]
    NotFound(String),
    #[error(transparent)]
    Rule(#[from] RuleError),
    #[error(transparent)]
    Tree(#[from] TreeError),
    #[error(transparent)]
    Field(#[from] FieldError),
    #[error("{0} cannot be changed after creation")]
    Immutable(&'static str),
    #[error("the reference '{0}' is already used by another smart routing")]
    ReferenceTaken(String),
    #[error("the version changed meanwhile: it is at revision {current}")]
    PreconditionFailed { current: u64 },
    #[error("{0}")]
    Limit(String),
    #[error(transparent)]
    Document(#[from] DocumentError),
    #[error("the document has problems")]
    DocumentRejected(DocumentReport),
    /// Something still refers to what was to be deleted.
    #[error("{0}")]
    InUse(String),
    #[error("the data kept changing; try again")]
    Busy,
    /// A database's new definition does not fit rows it holds (row id, why).
    #[error("{} rows do not fit the new definition", .0.len())]
    RowsRefused(Vec<(Uuid, String)>),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for MakerError {
    fn from(e: StoreError) -> Self {
        MakerError::Store(e)
    }
}

pub type Result<T> = std::result::Result<T, MakerError>;

/// Fields of a new routing.
#[derive(Clone, Debug)]
pub struct NewRouting {
    pub name: String,
    pub reference: String,
    pub description: String,
    pub kind: RoutingKind,
    pub channel_family: ChannelFamily,
}

/// Changes to a routing; `kind` and `channel_family` are accepted only when unchanged.
#[derive(Clone, Debug, Default)]
pub struct RoutingPatch {
    pub name: Option<String>,
    pub reference: Option<String>,
    pub description: Option<String>,
    pub kind: Option<RoutingKind>,
    pub channel_family: Option<ChannelFamily>,
}

/// A routing with its versions (without trees).
#[derive(Clone, Debug)]
pub struct RoutingView {
    pub routing: Routing,
    pub versions: Vec<VersionRecord>,
}

impl RoutingView {
    /// Planned productions, soonest first.
    pub fn schedules(&self) -> Vec<&VersionRecord> {
        let mut s: Vec<&VersionRecord> = self
            .versions
            .iter()
            .filter(|v| v.scheduled_at.is_some())
            .collect();
        s.sort_by_key(|v| v.scheduled_at);
        s
    }
}

/// A version with its tree and its diagnostics.
#[derive(Clone, Debug)]
pub struct VersionView {
    pub version: Version,
    pub channel_family: ChannelFamily,
    pub compiled: Compiled,
}

/// Result of an import.
#[derive(Clone, Debug)]
pub struct Imported {
    pub routing: Routing,
    pub report: DocumentReport,
}

/// The Maker service.
pub struct Maker {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    time_zone: TimeZone,
    schedule_changed: Notify,
    generation: std::sync::atomic::AtomicU64,
}

/// Resolves routing references from a snapshot taken before compiling.
struct Snapshot {
    routings: HashMap<String, (RoutingKind, ChannelFamily)>,
    /// Business objects that exist, `kind:id:…` and `kind:ref:…`, with their data.
    objects: HashMap<String, serde_json::Value>,
    /// Declared variables the tree uses, by name (`None`: not declared).
    variables: HashMap<String, Option<flow::objects::VariableData>>,
}

impl Resolver for Snapshot {
    fn variable(&self, name: &str) -> compile::VarLookup<'_> {
        match self.variables.get(name) {
            Some(Some(d)) => compile::VarLookup::Declared(d),
            Some(None) => compile::VarLookup::NotDeclared,
            None => compile::VarLookup::Unchecked,
        }
    }
    fn object_data(&self, kind: ObjectKind, selector: &Selector) -> Option<serde_json::Value> {
        let key = match selector {
            Selector::Entity { id } => format!("{}:id:{}", flow::objects::kind_key(kind), id.0),
            Selector::Reference { reference } => {
                format!("{}:ref:{}", flow::objects::kind_key(kind), reference.0)
            }
            Selector::ReferenceFromVariable { .. } => return None,
        };
        self.objects.get(&key).cloned()
    }
    fn lookup(&self, kind: ObjectKind, selector: &Selector) -> Lookup {
        if flow::objects::STORED.contains(&kind) {
            let key = match selector {
                Selector::Entity { id } => format!("{}:id:{}", flow::objects::kind_key(kind), id.0),
                Selector::Reference { reference } => {
                    format!("{}:ref:{}", flow::objects::kind_key(kind), reference.0)
                }
                Selector::ReferenceFromVariable { .. } => return Lookup::Unchecked,
            };
            return if self.objects.contains_key(&key) {
                Lookup::Found(None)
            } else {
                Lookup::NotFound
            };
        }
        if kind != ObjectKind::Routing {
            return Lookup::Unchecked;
        }
        let key = match selector {
            Selector::Entity { id } => format!("id:{}", id.0),
            Selector::Reference { reference } => format!("ref:{}", reference.0),
            Selector::ReferenceFromVariable { .. } => return Lookup::Unchecked,
        };
        match self.routings.get(&key) {
            Some(found) => Lookup::Found(Some(*found)),
            None => Lookup::NotFound,
        }
    }
}

/// The one way the Maker writes: `attempt` (a block) loads what it needs, applies a rule of
/// `flow` and gives the changes with what to answer; [`Maker::commit`] writes them in one
/// transaction. When someone wrote first, the attempt runs again from a fresh load (at most
/// [`RETRIES`] times, then `Busy`) — unless the caller pinned a revision (`If-Match`): then the
/// answer is `412` with the revision `current` reads now. (A macro rather than a function
/// taking async closures, whose futures would not be `Send` for every lifetime.)
macro_rules! transact {
    ($maker:expr, $if_match:expr, $current:expr, $attempt:block) => {{
        let mut result = Err(MakerError::Busy);
        for _ in 0..RETRIES {
            let (changes, out) = $attempt;
            match $maker.commit(changes).await {
                Ok(()) => {
                    result = Ok(out);
                    break;
                }
                Err(StoreError::Conflict) if $if_match.is_none() => continue,
                Err(StoreError::Conflict) => {
                    result = Err(MakerError::PreconditionFailed { current: $current });
                    break;
                }
                Err(e) => {
                    result = Err(e.into());
                    break;
                }
            }
        }
        result
    }};
}

impl Maker {
    /// Whether the store answers.
    pub async fn ready(&self) -> Result<()> {
        Ok(self.store.ready().await?)
    }

    /// The response recorded for an idempotency key, if any.
    pub async fn idempotent_response(&self, key: &str) -> Result<Option<store::StoredResponse>> {
        Ok(self.store.stored_response(key).await?)
    }

    /// Records a response for its idempotency key (the first one stays); drops those older
    /// than `expire_before`.
    pub async fn record_idempotent_response(
        &self,
        response: store::StoredResponse,
        expire_before: Timestamp,
    ) -> Result<()> {
        Ok(self.store.store_response(response, expire_before).await?)
    }

    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, time_zone: TimeZone) -> Self {
        Maker {
            store,
            clock,
            time_zone,
            schedule_changed: Notify::new(),
            generation: Default::default(),
        }
    }

    /// Marks that routings, versions or business objects changed.
    pub(crate) fn bump(&self) {
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::Release);
    }

    /// A number that changes whenever a routing or version changes.
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Acquire)
    }

    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn time_zone(&self) -> &TimeZone {
        &self.time_zone
    }

    /// Resolves when a planned production was added or removed.
    pub async fn schedule_changed(&self) {
        self.schedule_changed.notified().await
    }

    pub async fn next_schedule(&self) -> Result<Option<Timestamp>> {
        Ok(self.store.next_schedule().await?)
    }

    fn now(&self) -> Timestamp {
        self.clock.now()
    }

    async fn routing_or_404(&self, id: RoutingId) -> Result<Routing> {
        self.store
            .routing(id)
            .await?
            .ok_or_else(|| MakerError::NotFound(format!("smart routing {id}")))
    }

    async fn version_or_404(&self, id: VersionId) -> Result<Version> {
        self.store
            .version(id)
            .await?
            .ok_or_else(|| MakerError::NotFound(format!("version {id}")))
    }

    /// Builds a resolver that knows the routings `tree` refers to (and `extra`, e.g. the routing
    /// of an imported document, by reference).
    async fn resolver(
        &self,
        tree: &Tree,
        extra: Option<(&str, RoutingKind, ChannelFamily)>,
    ) -> Result<Snapshot> {
        let mut routings = HashMap::new();
        if let Some((reference, kind, family)) = extra {
            routings.insert(format!("ref:{reference}"), (kind, family));
        }
        let mut objects = HashMap::new();
        for r in compile::references(tree)
            .into_iter()
            .filter(|r| flow::objects::STORED.contains(&r.kind))
        {
            let found = match &r.selector {
                Selector::Entity { id } => match Uuid::parse_str(&id.0) {
                    Ok(uuid) => self
                        .store
                        .object(r.kind, uuid)
                        .await?
                        .map(|o| (format!("id:{}", id.0), o.data)),
                    Err(_) => None,
                },
                Selector::Reference { reference } => self
                    .store
                    .object_by_reference(r.kind, &reference.0)
                    .await?
                    .map(|o| (format!("ref:{}", reference.0), o.data)),
                Selector::ReferenceFromVariable { .. } => None,
            };
            if let Some((key, data)) = found {
                objects.insert(format!("{}:{key}", flow::objects::kind_key(r.kind)), data);
            }
        }
        for r in compile::references(tree)
            .into_iter()
            .filter(|r| r.kind == ObjectKind::Routing)
        {
            let found = match &r.selector {
                Selector::Entity { id } => match Uuid::parse_str(&id.0) {
                    Ok(uuid) => self
                        .store
                        .routing(uuid)
                        .await?
                        .map(|t| (format!("id:{}", id.0), t)),
                    Err(_) => None,
                },
                Selector::Reference { reference } => self
                    .store
                    .routing_by_reference(&reference.0)
                    .await?
                    .map(|t| (format!("ref:{}", reference.0), t)),
                Selector::ReferenceFromVariable { .. } => None,
            };
            if let Some((key, target)) = found {
                routings.insert(key, (target.kind, target.channel_family));
            }
        }
        let mut variables = HashMap::new();
        for name in compile::variable_names(tree) {
            let declared = self
                .store
                .object_by_reference(ObjectKind::Variable, &name)
                .await?
                .and_then(|o| serde_json::from_value(o.data).ok());
            variables.insert(name, declared);
        }
        Ok(Snapshot {
            routings,
            objects,
            variables,
        })
    }

    /// Compiles a tree of a routing of `family`.
    pub async fn compile(&self, tree: &Tree, family: ChannelFamily) -> Result<Compiled> {
        let resolver = self.resolver(tree, None).await?;
        Ok(compile::compile(tree, family, &resolver))
    }

    async fn tree_state(&self, version: &Version, family: ChannelFamily) -> Result<TreeState> {
        let compiled = self.compile(&version.tree, family).await?;
        Ok(TreeState {
            blank: version.tree.is_blank(),
            errors: compiled.error_count(),
        })
    }

    async fn check_room_for_routing(&self) -> Result<()> {
        if self.store.count_routings().await? >= limits::ROUTINGS {
            return Err(MakerError::Limit(format!(
                "a deployment holds at most {} smart routings",
                limits::ROUTINGS
            )));
        }
        Ok(())
    }

    fn reference_taken(e: StoreError, reference: &str) -> MakerError {
        match e {
            StoreError::Unique(_) => MakerError::ReferenceTaken(reference.to_owned()),
            other => other.into(),
        }
    }

    fn new_version(
        &self,
        routing: &Routing,
        number: u32,
        name: String,
        description: String,
        tree: Tree,
    ) -> Version {
        let now = self.now();
        Version {
            record: VersionRecord {
                id: Uuid::now_v7(),
                routing_id: routing.id,
                number,
                name,
                description,
                status: VersionStatus::Development,
                in_test: false,
                scheduled_at: None,
                revision: 1,
                created_at: now,
                updated_at: now,
            },
            tree,
        }
    }

    fn bumped(&self, routing: &Routing) -> RoutingWrite {
        let mut next = routing.clone();
        next.revision += 1;
        next.updated_at = self.now();
        RoutingWrite::Update {
            routing: next,
            expected_revision: routing.revision,
        }
    }

    // ----- routings -----

    pub async fn create_routing(&self, new: NewRouting) -> Result<RoutingView> {
        let reference = model::check_reference(&new.reference)?;
        let now = self.now();
        let routing = Routing {
            id: Uuid::now_v7(),
            name: model::check_name("name", &new.name)?,
            description: model::check_description(&new.description)?,
            reference: reference.clone(),
            kind: new.kind,
            channel_family: new.channel_family,
            revision: 1,
            created_at: now,
            updated_at: now,
            schedule_failure: None,
        };
        self.check_room_for_routing().await?;
        self.store
            .apply(Changes {
                routing: Some(RoutingWrite::Insert(routing.clone())),
                versions: vec![],
            })
            .await
            .map_err(|e| Self::reference_taken(e, &reference))?;
        Ok(RoutingView {
            routing,
            versions: vec![],
        })
    }

    pub async fn routing(&self, id: RoutingId) -> Result<RoutingView> {
        let routing = self.routing_or_404(id).await?;
        let versions = self.store.versions(id).await?;
        Ok(RoutingView { routing, versions })
    }

    pub async fn routing_by_reference(&self, reference: &str) -> Result<RoutingView> {
        let routing = self
            .store
            .routing_by_reference(reference)
            .await?
            .ok_or_else(|| {
                MakerError::NotFound(format!("smart routing with reference '{reference}'"))
            })?;
        self.routing(routing.id).await
    }

    pub async fn routings(
        &self,
        filter: &RoutingFilter,
        page: &PageRequest,
    ) -> Result<Page<Routing>> {
        Ok(self.store.routings(filter, page).await?)
    }

    pub async fn update_routing(
        &self,
        id: RoutingId,
        patch: RoutingPatch,
        if_match: Option<u64>,
    ) -> Result<RoutingView> {
        let reference = patch.reference.clone().unwrap_or_default();
        transact!(self, if_match, self.routing_or_404(id).await?.revision, {
            let current = self.routing_or_404(id).await?;
            check_revision(if_match, current.revision)?;
            if patch.kind.is_some_and(|k| k != current.kind) {
                return Err(MakerError::Immutable("kind"));
            }
            if patch
                .channel_family
                .is_some_and(|f| f != current.channel_family)
            {
                return Err(MakerError::Immutable("channel_family"));
            }
            let mut next = current.clone();
            if let Some(n) = &patch.name {
                next.name = model::check_name("name", n)?;
            }
            if let Some(r) = &patch.reference {
                next.reference = model::check_reference(r)?;
            }
            if let Some(d) = &patch.description {
                next.description = model::check_description(d)?;
            }
            next.revision += 1;
            next.updated_at = self.now();
            let changes = Changes {
                routing: Some(RoutingWrite::Update {
                    routing: next,
                    expected_revision: current.revision,
                }),
                versions: vec![],
            };
            (changes, ())
        })
        .map_err(|e| match e {
            MakerError::Store(s) => Self::reference_taken(s, &reference),
            other => other,
        })?;
        self.routing(id).await
    }

    /// Commits changes in one transaction; a change to routings bumps the generation that
    /// running programs are built from (a development tree edit leaves routings alone and
    /// changes no program kept by generation: development programs are kept by revision).
    async fn commit(&self, changes: Changes) -> std::result::Result<(), StoreError> {
        let bump = changes.routing.is_some();
        self.store.apply(changes).await?;
        if bump {
            self.bump();
        }
        Ok(())
    }

    pub async fn delete_routing(&self, id: RoutingId) -> Result<()> {
        transact!(self, None::<u64>, 0, {
            let current = self.routing_or_404(id).await?;
            let versions = self.store.versions(id).await?;
            lifecycle::check_routing_deletable(&versions)?;
            let changes = Changes {
                routing: Some(RoutingWrite::Delete {
                    id,
                    expected_revision: current.revision,
                }),
                versions: vec![],
            };
            (changes, ())
        })?;
        self.schedule_changed.notify_one();
        Ok(())
    }

    /// Copies a routing under a new name and reference; every version becomes a development
    /// version of the copy (same numbers and names, fresh identifiers).
    pub async fn copy_routing(
        &self,
        id: RoutingId,
        name: &str,
        reference: &str,
        description: Option<&str>,
    ) -> Result<RoutingView> {
        let source = self.routing(id).await?;
        let reference = model::check_reference(reference)?;
        let now = self.now();
        let routing = Routing {
            id: Uuid::now_v7(),
            name: model::check_name("name", name)?,
            reference: reference.clone(),
            description: match description {
                Some(d) => model::check_description(d)?,
                None => source.routing.description.clone(),
            },
            kind: source.routing.kind,
            channel_family: source.routing.channel_family,
            revision: 1,
            created_at: now,
            updated_at: now,
            schedule_failure: None,
        };
        self.check_room_for_routing().await?;
        let mut versions = Vec::new();
        for record in &source.versions {
            let Some(v) = self.store.version(record.id).await? else {
                continue;
            };
            let tree = v.tree.with_fresh_ids(&mut Uuid::now_v7);
            versions.push(VersionWrite::Insert(self.new_version(
                &routing,
                record.number,
                record.name.clone(),
                record.description.clone(),
                tree,
            )));
        }
        self.store
            .apply(Changes {
                routing: Some(RoutingWrite::Insert(routing.clone())),
                versions,
            })
            .await
            .map_err(|e| Self::reference_taken(e, &reference))?;
        self.routing(routing.id).await
    }

    // ----- versions -----

    /// Creates a development version: from zero (only Start) or with a copy of another
    /// version's tree (of any routing of the same channel family).
    pub async fn create_version(
        &self,
        routing_id: RoutingId,
        name: &str,
        description: &str,
        copy_of: Option<VersionId>,
    ) -> Result<VersionView> {
        let name = model::check_name("name", name)?;
        let description = model::check_description(description)?;
        let tree = match copy_of {
            None => Tree::with_start(Uuid::now_v7()),
            Some(source) => {
                let source = self.version_or_404(source).await?;
                let source_routing = self.routing_or_404(source.record.routing_id).await?;
                let routing = self.routing_or_404(routing_id).await?;
                if source_routing.channel_family != routing.channel_family {
                    return Err(MakerError::Rule(RuleError {
                        code: "family_mismatch",
                        message: format!(
                            "the source version belongs to a {} routing; this one is {}",
                            source_routing.channel_family.as_str(),
                            routing.channel_family.as_str()
                        ),
                        kind: lifecycle::RuleKind::Invalid,
                    }));
                }
                source.tree.with_fresh_ids(&mut Uuid::now_v7)
            }
        };
        self.insert_version(routing_id, name, description, tree)
            .await
    }

    async fn insert_version(
        &self,
        routing_id: RoutingId,
        name: String,
        description: String,
        tree: Tree,
    ) -> Result<VersionView> {
        let id = transact!(self, None::<u64>, 0, {
            let routing = self.routing_or_404(routing_id).await?;
            let versions = self.store.versions(routing_id).await?;
            lifecycle::check_room_for_version(&versions)?;
            let version = self.new_version(
                &routing,
                lifecycle::next_number(&versions),
                name.clone(),
                description.clone(),
                tree.clone(),
            );
            let id = version.record.id;
            let changes = Changes {
                routing: Some(self.bumped(&routing)),
                versions: vec![VersionWrite::Insert(version)],
            };
            (changes, id)
        })?;
        self.version(id).await
    }

    /// A version with its tree and diagnostics.
    pub async fn version(&self, id: VersionId) -> Result<VersionView> {
        let version = self.version_or_404(id).await?;
        let routing = self.routing_or_404(version.record.routing_id).await?;
        let compiled = self.compile(&version.tree, routing.channel_family).await?;
        Ok(VersionView {
            version,
            channel_family: routing.channel_family,
            compiled,
        })
    }

    /// Duplicates any version into a new development version of the same routing.
    pub async fn duplicate_version(
        &self,
        id: VersionId,
        name: Option<&str>,
    ) -> Result<VersionView> {
        let source = self.version_or_404(id).await?;
        let name = match name {
            Some(n) => model::check_name("name", n)?,
            None => model::check_name("name", &format!("Copy of {}", source.record.name))
                .unwrap_or_else(|_| source.record.name.clone()),
        };
        let tree = source.tree.with_fresh_ids(&mut Uuid::now_v7);
        self.insert_version(
            source.record.routing_id,
            name,
            source.record.description.clone(),
            tree,
        )
        .await
    }

    /// Deletes a development or backup version. Deleting a version with a planned production
    /// records that failure on the routing.
    pub async fn delete_version(&self, id: VersionId) -> Result<()> {
        transact!(self, None::<u64>, 0, {
            let version = self.version_or_404(id).await?;
            lifecycle::check_deletable(&version.record)?;
            let routing = self.routing_or_404(version.record.routing_id).await?;
            let mut write = self.bumped(&routing);
            if let (RoutingWrite::Update { routing: next, .. }, Some(at)) =
                (&mut write, version.record.scheduled_at)
            {
                next.schedule_failure = Some(ScheduleFailure {
                    version_id: id,
                    version_name: version.record.name.clone(),
                    scheduled_at: at,
                    recorded_at: self.now(),
                    code: "version_deleted".into(),
                    message: format!(
                        "version '{}' was deleted before its planned production",
                        version.record.name
                    ),
                });
            }
            let changes = Changes {
                routing: Some(write),
                versions: vec![VersionWrite::Delete(id)],
            };
            (changes, ())
        })?;
        self.schedule_changed.notify_one();
        Ok(())
    }

    /// Applies a lifecycle rule to the versions of the routing of `id` and commits the change.
    async fn lifecycle(
        &self,
        id: VersionId,
        rule: impl Fn(
            &mut [VersionRecord],
            TreeState,
            Timestamp,
            &TimeZone,
        ) -> std::result::Result<(), RuleError>,
    ) -> Result<VersionView> {
        transact!(self, None::<u64>, 0, {
            let version = self.version_or_404(id).await?;
            let routing = self.routing_or_404(version.record.routing_id).await?;
            let state = self.tree_state(&version, routing.channel_family).await?;
            let before = self.store.versions(routing.id).await?;
            let mut after = before.clone();
            rule(&mut after, state, self.now(), &self.time_zone)?;
            let changes = Changes {
                routing: Some(self.bumped(&routing)),
                versions: changed(&before, &after),
            };
            (changes, ())
        })?;
        self.schedule_changed.notify_one();
        self.version(id).await
    }

    pub async fn put_in_production(&self, id: VersionId) -> Result<VersionView> {
        self.lifecycle(id, |vs, state, now, _| {
            lifecycle::put_in_production(vs, id, state, now)
        })
        .await
    }

    pub async fn put_in_test(&self, id: VersionId) -> Result<VersionView> {
        self.lifecycle(id, |vs, _, now, _| lifecycle::put_in_test(vs, id, now))
            .await
    }

    pub async fn remove_from_test(&self, id: VersionId) -> Result<VersionView> {
        self.lifecycle(id, |vs, _, now, _| lifecycle::remove_from_test(vs, id, now))
            .await
    }

    pub async fn schedule(&self, id: VersionId, at: Timestamp) -> Result<VersionView> {
        self.lifecycle(id, |vs, state, now, tz| {
            lifecycle::schedule(vs, id, at, state, now, tz)
        })
        .await
    }

    pub async fn unschedule(&self, id: VersionId) -> Result<VersionView> {
        self.lifecycle(id, |vs, _, now, _| lifecycle::unschedule(vs, id, now))
            .await
    }

    /// Edits a development version's tree (and/or its name and description) with `edit`. With
    /// `if_match`, refuses unless the version is still at that revision.
    pub async fn edit<T>(
        &self,
        id: VersionId,
        if_match: Option<u64>,
        edit: impl Fn(&mut Version, ChannelFamily) -> std::result::Result<T, MakerError>,
    ) -> Result<(VersionView, T)> {
        let out = transact!(
            self,
            if_match,
            self.version_or_404(id).await?.record.revision,
            {
                let current = self.version_or_404(id).await?;
                check_revision(if_match, current.record.revision)?;
                lifecycle::check_editable(&current.record)?;
                let routing = self.routing_or_404(current.record.routing_id).await?;
                let mut next = current.clone();
                let out = edit(&mut next, routing.channel_family)?;
                next.record.revision = current.record.revision + 1;
                next.record.updated_at = self.now();
                let write = VersionWrite::Update {
                    record: next.record,
                    tree: Some(next.tree),
                    expected_revision: current.record.revision,
                };
                let changes = Changes {
                    routing: None,
                    versions: vec![write],
                };
                (changes, out)
            }
        )?;
        Ok((self.version(id).await?, out))
    }

    // ----- scheduled productions -----

    /// Carries out every planned production that is due. A refused one is dropped and its
    /// failure recorded on the routing. Returns how many were handled.
    pub async fn fire_due(&self) -> Result<usize> {
        let due = self.store.due_schedules(self.now(), 100).await?;
        let mut handled = 0;
        for record in due {
            match self.fire_one(record.id).await {
                // deleted meanwhile, or still contended after the retries: the next tick sees
                // what is left
                Err(MakerError::NotFound(_) | MakerError::Busy) => {}
                other => {
                    other?;
                    handled += 1;
                }
            }
        }
        Ok(handled)
    }

    async fn fire_one(&self, id: VersionId) -> Result<()> {
        let (routing, version, outcome) = transact!(self, None::<u64>, 0, {
            let version = self.version_or_404(id).await?;
            let Some(scheduled_at) = version.record.scheduled_at else {
                return Ok(());
            };
            let routing = self.routing_or_404(version.record.routing_id).await?;
            let state = self.tree_state(&version, routing.channel_family).await?;
            let before = self.store.versions(routing.id).await?;
            let mut after = before.clone();
            let now = self.now();
            let outcome = lifecycle::fire_scheduled(&mut after, id, state, now);
            if matches!(&outcome, Err(e) if e.code == "not_due") {
                return Ok(());
            }
            let mut write = self.bumped(&routing);
            if let (RoutingWrite::Update { routing: next, .. }, Err(e)) = (&mut write, &outcome) {
                next.schedule_failure = Some(ScheduleFailure {
                    version_id: id,
                    version_name: version.record.name.clone(),
                    scheduled_at,
                    recorded_at: now,
                    code: e.code.to_owned(),
                    message: e.message.clone(),
                });
            }
            let changes = Changes {
                routing: Some(write),
                versions: changed(&before, &after),
            };
            (changes, (routing, version, outcome))
        })?;
        match outcome {
            Ok(()) => {
                tracing::info!(routing = %routing.reference, version = version.record.number, "planned production carried out")
            }
            Err(e) => {
                tracing::warn!(routing = %routing.reference, version = version.record.number, code = e.code, "planned production refused: {}", e.message)
            }
        }
        Ok(())
    }

    // ----- documents -----

    /// The routing as a document.
    pub async fn export(&self, id: RoutingId) -> Result<RoutingDocument> {
        let view = self.routing(id).await?;
        let mut versions = Vec::new();
        for record in &view.versions {
            versions.extend(self.store.version(record.id).await?);
        }
        Ok(document::export(&view.routing, &versions))
    }

    /// Checks a document against this deployment (routing references resolve to existing
    /// routings and to the document's own routing).
    pub async fn check_document(&self, doc: &RoutingDocument) -> Result<DocumentReport> {
        let mut all = Tree::default();
        for v in &doc.versions {
            all.actions.extend(v.tree.actions.iter().cloned());
        }
        let r = &doc.routing;
        let resolver = self
            .resolver(&all, Some((&r.reference, r.kind, r.channel_family)))
            .await?;
        Ok(document::check(doc, &resolver))
    }

    /// Creates a routing from a document. Refuses documents with problems and references that
    /// are taken; development versions may carry errors (they are reported).
    pub async fn import(&self, doc: RoutingDocument) -> Result<Imported> {
        let report = self.check_document(&doc).await?;
        if !report.problems.is_empty() {
            return Err(MakerError::DocumentRejected(report));
        }
        if self
            .store
            .routing_by_reference(&doc.routing.reference)
            .await?
            .is_some()
        {
            return Err(MakerError::ReferenceTaken(doc.routing.reference.clone()));
        }
        let mut schedule_days = HashMap::new();
        for v in &doc.versions {
            if let Some(at) = v.scheduled_at
                && let Some(other) =
                    schedule_days.insert(at.to_zoned(self.time_zone.clone()).date(), v.number)
            {
                return Err(MakerError::Rule(RuleError {
                    code: "schedule_date_taken",
                    message: format!(
                        "versions {other} and {} are planned for production on the same date",
                        v.number
                    ),
                    kind: lifecycle::RuleKind::Conflict,
                }));
            }
        }
        self.check_room_for_routing().await?;
        let now = self.now();
        let routing = Routing {
            id: Uuid::now_v7(),
            reference: doc.routing.reference.clone(),
            name: model::check_name("name", &doc.routing.name)?,
            description: model::check_description(&doc.routing.description)?,
            kind: doc.routing.kind,
            channel_family: doc.routing.channel_family,
            revision: 1,
            created_at: now,
            updated_at: now,
            schedule_failure: None,
        };
        let versions = doc
            .versions
            .into_iter()
            .map(|v| {
                let mut version = self.new_version(
                    &routing,
                    v.number,
                    v.name.trim().to_owned(),
                    v.description.trim().to_owned(),
                    v.tree,
                );
                version.record.status = v.status;
                version.record.in_test = v.in_test;
                version.record.scheduled_at = v.scheduled_at;
                VersionWrite::Insert(version)
            })
            .collect();
        self.store
            .apply(Changes {
                routing: Some(RoutingWrite::Insert(routing.clone())),
                versions,
            })
            .await
            .map_err(|e| Self::reference_taken(e, &routing.reference))?;
        self.schedule_changed.notify_one();
        Ok(Imported { routing, report })
    }
}

/// Refuses when the caller pinned a revision (`If-Match`) that is no longer the current one.
fn check_revision(if_match: Option<u64>, current: u64) -> Result<()> {
    match if_match {
        Some(expected) if expected != current => Err(MakerError::PreconditionFailed { current }),
        _ => Ok(()),
    }
}

/// Writes for the records that a rule changed (their revision moved).
fn changed(before: &[VersionRecord], after: &[VersionRecord]) -> Vec<VersionWrite> {
    after
        .iter()
        .filter_map(|a| {
            let b = before.iter().find(|b| b.id == a.id)?;
            (b.revision != a.revision).then(|| VersionWrite::Update {
                record: a.clone(),
                tree: None,
                expected_revision: b.revision,
            })
        })
        .collect()
}
