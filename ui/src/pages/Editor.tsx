import { Alert } from "../alert";
import { useCallback, useEffect, useId, useMemo, useRef, useState } from "react";
import {
  Background,
  Controls,
  Handle,
  MiniMap,
  Position,
  ReactFlow,
  ReactFlowProvider,
  useReactFlow,
  type Connection,
  type Edge,
  type Node,
  type NodeProps,
} from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import Form from "@rjsf/core";
import { validator } from "../forms";
import type { RJSFSchema } from "@rjsf/utils";
import { allows, api, everyPage, objectKinds, problemText, type Schemas, type Session } from "../api";
import { ChosenObjects, fields, ObjectSources, uiSchemaFor, VariableChoices, widgets, type KnownObject, type VariableChoice } from "../widgets";
import { Link } from "../route";
import { isOutcome, Preview } from "./Preview";
import { pathOf } from "../chat";

type Version = Schemas["VersionDto"];
type Tree = Schemas["TreeDto"];

/** At most this many edits are kept to undo. */
const HISTORY = 100;

/** A tree as `PUT /versions/{id}/tree` takes it: as the version gives it, without labels. */
function treeBody(tree: Tree): Schemas["ReplaceTree"] {
  return {
    actions: tree.actions.map((a) => ({ id: a.id, type: a.type, name: a.name, params: a.params, record_passage: a.record_passage, position: a.position })),
    links: tree.links,
  };
}
type ActionType = Schemas["ActionTypeDto"];
type Action = Schemas["ActionDto"];
type Diagnostic = Schemas["DiagnosticDto"];

let catalogue: Promise<ActionType[]> | null = null;
/** The catalogue, asked once per page load. */
function actionTypes(): Promise<ActionType[]> {
  catalogue ??= api.GET("/action-types").then(({ data, error }) => {
    if (!data) throw error;
    return data.items;
  });
  return catalogue;
}

/** The variables a routing of `family` may name: the declared ones (with their fields), then the
 * system's. */
async function variableChoices(family: string): Promise<VariableChoice[]> {
  const [declared, system] = await Promise.all([
    everyPage((after) => api.GET("/variables", { params: { query: { limit: 200, after } } })).catch(() => []),
    api.GET("/system-variables").then(({ data }) => data?.items ?? []),
  ]);
  const out: VariableChoice[] = [];
  for (const v of declared) {
    out.push({ path: v.reference, description: v.name, system: false });
    const fields = (v.data as { fields?: { name: string; description?: string }[] }).fields ?? [];
    for (const f of fields) out.push({ path: `${v.reference}.${f.name}`, description: f.description || `${v.name}: ${f.name}`, system: false });
  }
  for (const f of system) if (!f.email_only || family === "email") out.push({ path: f.path, description: f.description, system: true });
  return out;
}

/** The objects of each kind, asked once per editor: users and routings from their own lists,
 * the business objects from their collections (`GET /object-kinds`); `null` for a kind not
 * stored here or not readable by the role (its id is then typed in). */
function objectSource(): (kind: string) => Promise<KnownObject[] | null> {
  const asked = new Map<string, Promise<KnownObject[] | null>>();
  const list = async (kind: string): Promise<KnownObject[] | null> => {
    if (kind === "user") return everyPage((after) => api.GET("/users", { params: { query: { limit: 200, after } } }));
    if (kind === "routing") return everyPage((after) => api.GET("/routings", { params: { query: { limit: 200, after } } }));
    const stored = (await objectKinds()).find((k) => k.kind === kind);
    if (!stored) return null;
    return everyPage((after) => api.GET(stored.path as "/checkpoints", { params: { query: { limit: 200, after } } }));
  };
  return (kind) => {
    if (!asked.has(kind)) asked.set(kind, list(kind).catch(() => null));
    return asked.get(kind)!;
  };
}

/** Where a new action goes: `want`, moved right until it covers no other action. */
function freeSpot(actions: Action[], want: { x: number; y: number }) {
  const p = { x: Math.round(want.x), y: Math.round(want.y) };
  for (let i = 0; i < 500 && actions.some((a) => Math.abs(a.position.x - p.x) < 210 && Math.abs(a.position.y - p.y) < 100); i++) p.x += 230;
  return p;
}

/** Between the two ends of a link, clear of the others. */
function betweenSpot(actions: Action[], link: Schemas["LinkDto"]) {
  const from = actions.find((a) => a.id === link.from)?.position ?? { x: 0, y: 0 };
  const to = actions.find((a) => a.id === link.to)?.position ?? { x: 0, y: 0 };
  return freeSpot(actions, { x: (from.x + to.x) / 2, y: (from.y + to.y) / 2 });
}

type ActionNodeData = { action: Action; type?: ActionType; diagnostics: Diagnostic[]; start: boolean; change?: string; onPath?: boolean };
type ActionNode = Node<ActionNodeData, "action">;

/** An action: its label, name and diagnostics; one labelled handle per output branch. */
function ActionNodeView({ data, selected }: NodeProps<ActionNode>) {
  const branches = data.type?.branches ?? [];
  const errors = data.diagnostics.filter((d) => d.severity === "error").length;
  const warnings = data.diagnostics.length - errors;
  return (
    <div
      className={`node${selected ? " selected" : ""}${errors ? " has-errors" : ""}${data.change ? ` diff-${data.change}` : ""}${data.onPath ? " on-path" : ""}`}
      data-action-id={data.action.id}
      data-change={data.change}
    >
      {!data.start && <Handle type="target" position={Position.Top} />}
      <div className="node-title">{data.action.name || data.action.label}</div>
      {data.action.name && <div className="node-type">{data.action.label}</div>}
      {data.change && data.change !== "unchanged" && <div className="node-change">{data.change}</div>}
      {(errors > 0 || warnings > 0) && (
        <div className="node-diagnostics">
          {errors > 0 && <span className="badge error-badge">{errors} error{errors > 1 ? "s" : ""}</span>}
          {warnings > 0 && <span className="badge warning-badge">{warnings} warning{warnings > 1 ? "s" : ""}</span>}
        </div>
      )}
      <div className="node-branches">
        {branches.map((b, i) => (
          <div key={b.key} className="branch" style={{ left: `${((i + 1) * 100) / (branches.length + 1)}%` }}>
            <span className="branch-label">{b.label}</span>
            <Handle id={b.key} type="source" position={Position.Bottom} title={`Branch ${b.label}: drag to an action to link it`} />
          </div>
        ))}
      </div>
    </div>
  );
}

const nodeTypes = { action: ActionNodeView };

export function EditorPage(props: { session: Session; family: "messaging" | "email"; routingId: string; versionId: string }) {
  return (
    <ReactFlowProvider>
      <Editor {...props} />
    </ReactFlowProvider>
  );
}

function Editor(props: { session: Session; family: "messaging" | "email"; routingId: string; versionId: string }) {
  const [version, setVersion] = useState<Version | null>(null);
  const [types, setTypes] = useState<ActionType[]>([]);
  const [error, setError] = useState("");
  const [conflict, setConflict] = useState(false);
  const [selected, setSelected] = useState<{ kind: "action" | "link"; id: string } | null>(null);
  const [positions, setPositions] = useState<Record<string, { x: number; y: number }>>({});
  // the sizes React Flow measured, handed back with each node: a node given without them is
  // hidden until measured again, and a redraw (the path arriving, a diff) could leave it so
  const [sizes, setSizes] = useState<Record<string, { width: number; height: number }>>({});
  const [siblings, setSiblings] = useState<Schemas["VersionSummary"][]>([]);
  const [compareWith, setCompareWith] = useState("");
  const [diff, setDiff] = useState<Schemas["DiffDto"] | null>(null);
  const [previewing, setPreviewing] = useState(false);
  const [showHistory, setShowHistory] = useState(false);
  const [path, setPath] = useState<{ actions: Set<string>; branches: Set<string> } | null>(null);
  const [variables, setVariables] = useState<VariableChoice[]>([]);
  // the trees before each edit (undo) and before each undo (redo)
  // kept in a ref too: an undo waiting its turn in the edit queue reads the stacks as the edits
  // before it left them (two quick Ctrl+Z undo two steps, not the same one twice)
  const [history, setHistoryState] = useState<{ undo: Tree[]; redo: Tree[] }>({ undo: [], redo: [] });
  const stacks = useRef(history);
  const setHistory = (f: (h: { undo: Tree[]; redo: Tree[] }) => { undo: Tree[]; redo: Tree[] }) => {
    stacks.current = f(stacks.current);
    setHistoryState(stacks.current);
  };
  const [objects] = useState(objectSource);
  const flow = useReactFlow();
  const family = version?.channel_family;
  useEffect(() => {
    // without the variables' permission, the picker offers the system's only
    if (family) variableChoices(family).then(setVariables);
  }, [family]);
  // the version the next edit starts from, and the edits waiting their turn
  const latest = useRef<Version | null>(null);
  const queue = useRef<Promise<unknown>>(Promise.resolve());
  const load = useCallback(async () => {
    const { data, error } = await api.GET("/versions/{id}", { params: { path: { id: props.versionId } } });
    if (data) {
      latest.current = data;
      setVersion(data);
      setPositions({});
      setConflict(false);
      setHistory(() => ({ undo: [], redo: [] }));
    } else setError(problemText(error));
  }, [props.versionId]);
  useEffect(() => {
    load();
    actionTypes().then(setTypes, (e) => setError(problemText(e)));
  }, [load]);
  useEffect(() => {
    api.GET("/routings/{id}", { params: { path: { id: props.routingId } } }).then(({ data }) => setSiblings(data?.versions ?? []));
  }, [props.routingId]);
  // opened from an interaction: the path it took
  const shown = new URLSearchParams(location.search).get("interaction");
  useEffect(() => {
    if (!shown) return;
    api
      .GET("/interactions/{id}", { params: { path: { id: shown }, query: { events_limit: 1000 } } })
      .then(({ data }) => data && setPath(pathOf(data)));
  }, [shown]);
  // the comparison follows the version as it is edited
  useEffect(() => {
    if (!compareWith) {
      setDiff(null);
      return;
    }
    api
      .GET("/versions/{id}/diff", { params: { path: { id: props.versionId }, query: { with: compareWith } } })
      .then(({ data, error }) => (data ? setDiff(data) : setError(problemText(error))));
  }, [compareWith, props.versionId, version?.revision]);
  const changeOf = useMemo(() => new Map((diff?.actions ?? []).filter((a) => a.action_id).map((a) => [a.action_id!, a.change])), [diff]);
  const editable = !!version && version.status === "development" && allows(props.session, `routings.${props.family}:edit`);
  const typeOf = useMemo(() => new Map(types.map((t) => [t.type, t])), [types]);

  const remember = (before: Tree) => setHistory((h) => ({ undo: [...h.undo, before].slice(-HISTORY), redo: [] }));
  /** Runs an edit guarded by the version's revision; its answer is the version as it is now.
   * The tree before it is kept to undo (`then` instead, for an undo or a redo). */
  const edit = (
    // null: nothing left to do once its turn came (an undo with nothing left to undo)
    call: (ifMatch: string) => Promise<{ data?: Schemas["EditResult"]; error?: unknown; response: Response }> | null,
    then: (before: Tree) => void = remember,
  ): Promise<Schemas["EditResult"] | undefined> => {
    // one after another, each with the revision the one before left (two nodes moved, or
    // deleted, at once)
    const run = async () => {
      const current = latest.current;
      if (!current) return undefined;
      const answer = call(`"${current.revision}"`);
      if (!answer) return undefined;
      setError("");
      const { data, error, response } = await answer;
      if (data) {
        latest.current = data.version;
        setVersion(data.version);
        then(current.tree);
        return data;
      }
      if (response.status === 412) setConflict(true);
      else setError(problemText(error));
      return undefined;
    };
    const next = queue.current.then(run, run);
    queue.current = next.catch(() => undefined);
    return next;
  };
  const versionPath = { id: props.versionId };
  // where moved actions came to rest, saved 300 ms after the last move (an arrow key held)
  const resting = useRef<Record<string, { x: number; y: number }>>({});
  const restTimer = useRef<number | undefined>(undefined);
  const settle = (id: string, p: { x: number; y: number }) => {
    resting.current[id] = p;
    window.clearTimeout(restTimer.current);
    restTimer.current = window.setTimeout(() => {
      const moved = resting.current;
      resting.current = {};
      for (const [action_id, at] of Object.entries(moved))
        edit((m) =>
          api.PATCH("/versions/{id}/actions/{action_id}", {
            params: { path: { ...versionPath, action_id }, header: { "If-Match": m } },
            body: { position: { x: Math.round(at.x), y: Math.round(at.y) } },
          }),
        );
    }, 300);
  };
  /** Puts back the tree before the last edit (undo) or before the last undo (redo). */
  const restore = (from: "undo" | "redo") => {
    edit(
      (m) => {
        // read at its turn in the queue, after the edits before it
        const tree = stacks.current[from].at(-1);
        return tree ? api.PUT("/versions/{id}/tree", { params: { path: versionPath, header: { "If-Match": m } }, body: treeBody(tree) }) : null;
      },
      (before) => {
        setPositions({});
        setHistory((h) =>
          from === "undo" ? { undo: h.undo.slice(0, -1), redo: [...h.redo, before] } : { undo: [...h.undo, before], redo: h.redo.slice(0, -1) },
        );
      },
    );
  };
  const restoreRef = useRef(restore);
  restoreRef.current = restore;
  // Ctrl+Z undoes, Ctrl+Shift+Z or Ctrl+Y redoes (⌘ on a Mac), outside text fields
  useEffect(() => {
    if (!editable) return;
    const keys = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement | null;
      if (!(e.ctrlKey || e.metaKey) || (t && (t.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(t.tagName)))) return;
      const key = e.key.toLowerCase();
      if (key === "z" || key === "y") {
        e.preventDefault();
        restoreRef.current(key === "y" || e.shiftKey ? "redo" : "undo");
      }
    };
    window.addEventListener("keydown", keys);
    return () => window.removeEventListener("keydown", keys);
  }, [editable]);

  const nodes: ActionNode[] = useMemo(
    () =>
      (version?.tree.actions ?? []).map((a, i) => ({
        id: a.id,
        type: "action" as const,
        position: positions[a.id] ?? a.position,
        measured: sizes[a.id],
        data: {
          action: a,
          type: typeOf.get(a.type),
          diagnostics: version!.diagnostics.items.filter((d) => d.action_id === a.id),
          start: i === 0 && a.type === "start",
          change: diff ? changeOf.get(a.id) : undefined,
          onPath: path?.actions.has(a.id),
        },
        selected: selected?.kind === "action" && selected.id === a.id,
        deletable: editable && a.type !== "start",
        ariaLabel: `Action ${a.name || a.label}`,
      })),
    [version, positions, sizes, typeOf, selected, editable, diff, changeOf, path],
  );
  const edges: Edge[] = useMemo(
    () =>
      (version?.tree.links ?? []).map((l) => ({
        id: l.id,
        source: l.from,
        sourceHandle: l.branch,
        target: l.to,
        selected: selected?.kind === "link" && selected.id === l.id,
        className: path?.branches.has(`${l.from}:${l.branch}`)
          ? "on-path"
          : diff?.links.some((d) => d.change === "added" && d.from === l.from && d.branch === l.branch && d.to === l.to)
            ? "diff-added"
            : undefined,
        animated: path?.branches.has(`${l.from}:${l.branch}`),
        deletable: editable,
        ariaLabel: `Link from branch ${l.branch}`,
      })),
    [version, selected, editable, diff, path],
  );

  const outcomesOf = (action: string) => {
    const type = typeOf.get(version?.tree.actions.find((a) => a.id === action)?.type ?? "");
    return (type?.branches ?? []).flatMap((b) => (isOutcome(b.key) ? [{ key: b.key, label: b.label }] : []));
  };
  const added = (id: string) => {
    setSelected({ kind: "action", id });
    // the new action in view, once drawn
    setTimeout(() => flow.fitView({ nodes: [{ id }], maxZoom: 1, duration: 250 }), 50);
  };
  if (!version) return error ? <Alert text={error} /> : <p>Loading…</p>;
  const action = selected?.kind === "action" ? version.tree.actions.find((a) => a.id === selected.id) : undefined;
  const link = selected?.kind === "link" ? version.tree.links.find((l) => l.id === selected.id) : undefined;
  const offered = types.filter((t) => t.type !== "start" && t.channel_families.includes(version.channel_family));
  const choices: Choices = { offered, versions: siblings, here: version };

  return (
    <VariableChoices.Provider value={variables}>
    <ObjectSources.Provider value={objects}>
    <section className="editor" aria-labelledby="editor-title">
      <div className="title-row">
        <p className="crumbs">
          <Link to={`/routings/${props.family}/${props.routingId}`}>Back to the smart routing</Link>
        </p>
        <h1 id="editor-title">
          {version.name} <span className="muted">v{version.number}</span>
        </h1>
        <span className="tag">{editable ? "Editing" : "Read-only"}</span>
        <span className="muted">
          {version.diagnostics.errors} errors · {version.diagnostics.warnings} warnings
        </span>
        {editable && (
          <>
            <button type="button" disabled={history.undo.length === 0} onClick={() => restore("undo")} title="Undo the last change (Ctrl+Z)">
              Undo
            </button>
            <button type="button" disabled={history.redo.length === 0} onClick={() => restore("redo")} title="Redo (Ctrl+Shift+Z)">
              Redo
            </button>
          </>
        )}
        {allows(props.session, "interactions:read") && (
          <button
            type="button"
            aria-pressed={showHistory}
            onClick={() => {
              // the path drawn goes with the pane that drew it, in the same click
              if (showHistory) setPath(null);
              setShowHistory(!showHistory);
            }}
          >
            History
          </button>
        )}
        <button
          type="button"
          aria-pressed={previewing}
          onClick={() => {
            if (previewing) setPath(null);
            setPreviewing(!previewing);
          }}
        >
          {previewing ? "Close the preview" : "Preview"}
        </button>
        <label className="inline">
          Compare with
          <select value={compareWith} onChange={(e) => setCompareWith(e.target.value)}>
            <option value="">No comparison</option>
            {siblings
              .filter((v) => v.id !== props.versionId)
              .map((v) => (
                <option key={v.id} value={v.id}>
                  {v.name} (v{v.number}, {v.status})
                </option>
              ))}
          </select>
        </label>
      </div>
      {conflict && (
        <p role="alert" className="banner warning">
          This version was changed elsewhere since you opened it; nothing was overwritten.{" "}
          <button type="button" onClick={load}>
            Load the latest
          </button>
        </p>
      )}
      <Alert text={error} />
      <div className="editor-body">
        <div className="canvas" aria-label="Action tree">
          <ReactFlow
            nodes={nodes}
            edges={edges}
            nodeTypes={nodeTypes}
            fitView
            fitViewOptions={{ maxZoom: 1 }}
            minZoom={0.1}
            nodesDraggable={editable}
            nodesConnectable={editable}
            elementsSelectable
            deleteKeyCode={editable ? ["Delete", "Backspace"] : null}
            onNodesChange={(changes) => {
              const moved: Record<string, { x: number; y: number }> = {};
              const sized: Record<string, { width: number; height: number }> = {};
              for (const c of changes) {
                if (c.type === "position" && c.position) moved[c.id] = c.position;
                // a drag ended, or an arrow key moved the selected actions: saved once they rest
                if (c.type === "position" && c.position && c.dragging === false) settle(c.id, c.position);
                if (c.type === "dimensions" && c.dimensions) sized[c.id] = c.dimensions;
                // selected by a click or from the keyboard (Tab to it, Enter)
                if (c.type === "select" && c.selected) setSelected({ kind: "action", id: c.id });
              }
              if (Object.keys(moved).length) setPositions((p) => ({ ...p, ...moved }));
              if (Object.keys(sized).length) setSizes((p) => ({ ...p, ...sized }));
            }}
            onEdgesChange={(changes) => {
              for (const c of changes) if (c.type === "select" && c.selected) setSelected({ kind: "link", id: c.id });
            }}
            onPaneClick={() => setSelected(null)}
            onConnect={(c: Connection) =>
              c.sourceHandle &&
              edit((m) =>
                api.POST("/versions/{id}/links", {
                  params: { path: versionPath, header: { "If-Match": m } },
                  body: { from: c.source, to: c.target, branch: c.sourceHandle! },
                }),
              )
            }
            edgesReconnectable={editable}
            onReconnect={(old, c) =>
              edit((m) =>
                api.PATCH("/versions/{id}/links/{link_id}", {
                  params: { path: { ...versionPath, link_id: old.id }, header: { "If-Match": m } },
                  body: { from: c.source, to: c.target, branch: c.sourceHandle ?? old.sourceHandle ?? undefined },
                }),
              )
            }
            onEdgesDelete={(gone) =>
              gone.forEach((e) =>
                edit((m) => api.DELETE("/versions/{id}/links/{link_id}", { params: { path: { ...versionPath, link_id: e.id }, header: { "If-Match": m } } })),
              )
            }
            onNodesDelete={(gone) =>
              gone.forEach((n) =>
                edit((m) =>
                  api.DELETE("/versions/{id}/actions/{action_id}", { params: { path: { ...versionPath, action_id: n.id }, header: { "If-Match": m } } }),
                ).then(() => setSelected(null)),
              )
            }
          >
            <Background />
            <Controls />
            <MiniMap pannable zoomable ariaLabel="Minimap of the tree" nodeColor="#5b6b7d" />
          </ReactFlow>
        </div>
        <aside className="side" aria-label="Details">
          {previewing && <Preview versionId={props.versionId} onPath={setPath} outcomesOf={outcomesOf} />}
          {showHistory && <VersionHistory versionId={props.versionId} onPath={setPath} />}
          {action && (
            <ActionPanel
              key={action.id + version.revision}
              action={action}
              actions={version.tree.actions}
              type={typeOf.get(action.type)}
              editable={editable}
              choices={choices}
              diagnostics={version.diagnostics.items.filter((d) => d.action_id === action.id)}
              onEdit={edit}
              versionId={props.versionId}
              onAdded={added}
            />
          )}
          {link && editable && (
            <InsertBetween key={link.id} link={link} spot={betweenSpot(version.tree.actions, link)} choices={choices} onEdit={edit} versionId={props.versionId} onAdded={added} />
          )}
          {!action && !link && <p className="muted">Select an action to see its parameters, or a link to add an action between its two ends.</p>}
          {diff && (
            <section aria-labelledby="diff-title" className="panel">
              <h2 id="diff-title">Compared with {siblings.find((v) => v.id === diff.with_version_id)?.name}</h2>
              <p>
                {diff.summary.added} added · {diff.summary.removed} removed · {diff.summary.changed} changed · {diff.summary.moved} moved ·{" "}
                {diff.summary.links_added} links added · {diff.summary.links_removed} links removed
              </p>
              <ul className="diff-list">
                {diff.actions
                  .filter((a) => a.change !== "unchanged")
                  .map((a, i) => (
                    <li key={i} className={`diff-${a.change}`}>
                      {a.change}: {typeOf.get(a.type)?.label ?? a.type}
                      {a.fields.length > 0 && ` (${a.fields.join(", ")})`}
                    </li>
                  ))}
              </ul>
            </section>
          )}
          <section aria-labelledby="diagnostics-title">
            <h2 id="diagnostics-title">Diagnostics</h2>
            {version.diagnostics.items.length === 0 ? (
              <p className="muted">None.</p>
            ) : (
              <ul className="diagnostics">
                {version.diagnostics.items.map((d, i) => (
                  <li key={i} className={d.severity}>
                    <button
                      type="button"
                      className="link-button"
                      disabled={!d.action_id}
                      onClick={() => {
                        const a = version.tree.actions.find((x) => x.id === d.action_id);
                        if (!a) return;
                        setSelected({ kind: "action", id: a.id });
                        const p = positions[a.id] ?? a.position;
                        flow.setCenter(p.x + 90, p.y + 40, { zoom: 1.2, duration: 300 });
                      }}
                    >
                      {d.severity === "error" ? "Error" : "Warning"}: {d.message}
                    </button>
                  </li>
                ))}
              </ul>
            )}
          </section>
        </aside>
      </div>
    </section>
    </ObjectSources.Provider>
    </VariableChoices.Provider>
  );
}

/** The version's test and preview executions (seed 001 §4: the History tab), newest first;
 * one chosen has its path drawn on the tree. */
function VersionHistory(props: { versionId: string; onPath: (p: { actions: Set<string>; branches: Set<string> } | null) => void }) {
  const [items, setItems] = useState<Schemas["InteractionSummary"][] | null>(null);
  const [error, setError] = useState("");
  const [shown, setShown] = useState<string | null>(null);
  const { onPath } = props;
  useEffect(() => {
    api
      .GET("/versions/{id}/history", { params: { path: { id: props.versionId }, query: { limit: 50 } } })
      .then(({ data, error }) => (data ? setItems(data.items) : setError(problemText(error))));
  }, [props.versionId]);
  useEffect(() => () => onPath(null), [onPath]);
  const mounted = useRef(true);
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);
  const show = async (id: string) => {
    const { data, error } = await api.GET("/interactions/{id}", { params: { path: { id }, query: { events_limit: 1000 } } });
    if (!mounted.current) return;
    if (!data) return setError(problemText(error));
    setShown(id);
    onPath(pathOf(data));
  };
  return (
    <section className="panel" aria-labelledby="history-title">
      <h2 id="history-title">History</h2>
      <Alert text={error} />
      {items && items.length === 0 && <p className="muted">No test or preview execution yet.</p>}
      <ul className="history">
        {(items ?? []).map((i) => (
          <li key={i.id} className={i.id === shown ? "current" : undefined}>
            <button type="button" className="link-button" aria-pressed={i.id === shown} onClick={() => show(i.id)}>
              {new Date(i.created_at).toLocaleString()} · {i.mode} · {i.status}
            </button>{" "}
            <Link to={`/interactions/${i.id}`}>Events</Link>
          </li>
        ))}
      </ul>
    </section>
  );
}

type Edit = (call: (ifMatch: string) => Promise<{ data?: Schemas["EditResult"]; error?: unknown; response: Response }>) => Promise<Schemas["EditResult"] | undefined>;

function TypePicker(props: { offered: ActionType[]; value: string; onChange: (t: string) => void; label: string }) {
  const groups = useMemo(() => {
    const m = new Map<string, ActionType[]>();
    for (const t of props.offered) m.set(t.category_label, [...(m.get(t.category_label) ?? []), t]);
    return [...m.entries()];
  }, [props.offered]);
  return (
    <label>
      {props.label}
      <select required value={props.value} onChange={(e) => props.onChange(e.target.value)}>
        <option value="">Choose an action type</option>
        {groups.map(([category, list]) => (
          <optgroup key={category} label={category}>
            {list.map((t) => (
              <option key={t.type} value={t.type}>
                {t.label}
                {t.runnable ? "" : " (not yet runnable)"}
              </option>
            ))}
          </optgroup>
        ))}
      </select>
    </label>
  );
}

/** A new action: its type, then its parameters (an action is created whole, never invalid). */
/** An action as a list names it: its name or label, and the first words it says, if any. */
function described(a: Action) {
  const said = Object.values((a.params ?? {}) as Record<string, unknown>).find((v): v is string => typeof v === "string" && v.trim() !== "");
  if (!said) return a.name || a.label;
  const short = said.length > 40 ? `${said.slice(0, 39)}…` : said;
  return `${a.name || a.label} — ${short}`;
}

/** What a new action is: one of a type with its parameters, or a copy of an existing one. */
type What = { type: string; params: Record<string, never> } | { copy_from: { version_id: string; action_id: string } };
/** What can be added: the types of the family, and the actions of the routing's versions to copy. */
type Choices = { offered: ActionType[]; versions: Schemas["VersionSummary"][]; here: Version };

function NewAction(props: { choices: Choices; submit: string; onCreate: (what: What) => void }) {
  const { offered, versions, here } = props.choices;
  const [mode, setMode] = useState<"new" | "copy">("new");
  const [type, setType] = useState("");
  const [from, setFrom] = useState(here.id);
  const [source, setSource] = useState<Version | null>(here);
  const [copied, setCopied] = useState("");
  useEffect(() => {
    setCopied("");
    if (from === here.id) setSource(here);
    else api.GET("/versions/{id}", { params: { path: { id: from } } }).then(({ data }) => setSource(data ?? null));
  }, [from, here]);
  const chosen = offered.find((t) => t.type === type);
  const schema = (chosen?.params_schema ?? {}) as RJSFSchema;
  // made once per schema: a new uiSchema at each redraw (a drag) makes the form redo its work
  const uiSchema = useMemo(() => uiSchemaFor(schema), [schema]);
  const copiable = (source?.tree.actions ?? []).filter((a) => offered.some((t) => t.type === a.type));
  const radio = useId();
  return (
    <>
      <fieldset className="choice">
        <legend>The new action</legend>
        <label className="inline">
          <input type="radio" name={radio} checked={mode === "new"} onChange={() => setMode("new")} />A new action
        </label>
        <label className="inline">
          <input type="radio" name={radio} checked={mode === "copy"} onChange={() => setMode("copy")} />A copy of an existing action
        </label>
      </fieldset>
      {mode === "new" && <TypePicker offered={offered} value={type} onChange={setType} label="Action type" />}
      {mode === "new" && chosen && (
        <ChosenObjects>
          <Form
            key={type}
            schema={schema}
            validator={validator}
            widgets={widgets}
            fields={fields}
            uiSchema={uiSchema}
            noHtml5Validate
            showErrorList={false}
            onSubmit={({ formData }) => props.onCreate({ type, params: (formData ?? {}) as Record<string, never> })}
          >
            <button type="submit" className="primary">
              {props.submit}
            </button>
          </Form>
        </ChosenObjects>
      )}
      {mode === "copy" && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (copied) props.onCreate({ copy_from: { version_id: from, action_id: copied } });
          }}
        >
          <label>
            From the version
            <select value={from} onChange={(e) => setFrom(e.target.value)}>
              {versions.map((v) => (
                <option key={v.id} value={v.id}>
                  {v.name} (v{v.number}, {v.status}){v.id === here.id ? " — this one" : ""}
                </option>
              ))}
            </select>
          </label>
          <label>
            The action to copy
            <select required value={copied} onChange={(e) => setCopied(e.target.value)}>
              <option value="">Choose an action</option>
              {copiable.map((a) => (
                <option key={a.id} value={a.id}>
                  {described(a)}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" className="primary">
            {props.submit}
          </button>
        </form>
      )}
    </>
  );
}

function ActionPanel(props: {
  action: Action;
  actions: Action[];
  type?: ActionType;
  editable: boolean;
  choices: Choices;
  diagnostics: Diagnostic[];
  onEdit: Edit;
  versionId: string;
  onAdded: (id: string) => void;
}) {
  const { action, type } = props;
  const [branch, setBranch] = useState(type?.branches[0]?.key ?? "");
  const [name, setName] = useState(action.name ?? "");
  const path = { id: props.versionId, action_id: action.id };
  const schema = (type?.params_schema ?? {}) as RJSFSchema;
  const uiSchema = useMemo(() => uiSchemaFor(schema), [schema]);
  return (
    <div className="panel-stack">
      <section aria-labelledby="action-title">
        <h2 id="action-title">{action.label}</h2>
        {type && <p className="muted">{type.description}</p>}
        {props.diagnostics.map((d, i) => (
          <p key={i} className={d.severity === "error" ? "error" : "alert"}>
            {d.message}
          </p>
        ))}
        <form
          className="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            props.onEdit((m) => api.PATCH("/versions/{id}/actions/{action_id}", { params: { path, header: { "If-Match": m } }, body: { name: name || null } }));
          }}
        >
          <label>
            Name
            <input value={name} disabled={!props.editable} onChange={(e) => setName(e.target.value)} />
          </label>
          {props.editable && <button type="submit">Rename</button>}
        </form>
        <label className="inline">
          <input
            type="checkbox"
            checked={action.record_passage}
            disabled={!props.editable}
            onChange={(e) =>
              props.onEdit((m) =>
                api.PATCH("/versions/{id}/actions/{action_id}", { params: { path, header: { "If-Match": m } }, body: { record_passage: e.target.checked } }),
              )
            }
          />
          Record the passage in this action
        </label>
        {Object.keys(schema.properties ?? {}).length > 0 && (
          <ChosenObjects>
            <Form
              schema={schema}
              formData={action.params}
              validator={validator}
              widgets={widgets}
              fields={fields}
              uiSchema={uiSchema}
              disabled={!props.editable}
              noHtml5Validate
              showErrorList={false}
              onSubmit={({ formData }) =>
                props.onEdit((m) =>
                  api.PATCH("/versions/{id}/actions/{action_id}", {
                    params: { path, header: { "If-Match": m } },
                    body: { params: formData as Record<string, never> },
                  }),
                )
              }
            >
              {props.editable ? (
                <button type="submit" className="primary">
                  Save the parameters
                </button>
              ) : (
                <></>
              )}
            </Form>
          </ChosenObjects>
        )}
      </section>
      {props.editable && type && type.branches.length > 0 && (
        <section className="panel" aria-label="Add an action after this one">
          <h3>Add an action</h3>
          <label>
            In the branch
            <select value={branch} onChange={(e) => setBranch(e.target.value)}>
              {type.branches.map((b) => (
                <option key={b.key} value={b.key}>
                  {b.label}
                </option>
              ))}
            </select>
          </label>
          <NewAction
            choices={props.choices}
            submit="Add the action"
            onCreate={async (what) => {
              const r = await props.onEdit((m) =>
                api.POST("/versions/{id}/actions", {
                  params: { path: { id: props.versionId }, header: { "If-Match": m } },
                  body: {
                    ...what,
                    after: { action_id: action.id, branch },
                    position: freeSpot(props.actions, {
                      x: action.position.x + (type.branches.findIndex((b) => b.key === branch) - (type.branches.length - 1) / 2) * 230,
                      y: action.position.y + 140,
                    }),
                  },
                }),
              );
              if (r?.action) props.onAdded(r.action.id);
            }}
          />
        </section>
      )}
    </div>
  );
}

function InsertBetween(props: { link: Schemas["LinkDto"]; spot: { x: number; y: number }; choices: Choices; onEdit: Edit; versionId: string; onAdded: (id: string) => void }) {
  return (
    <section className="panel" aria-label="Add an action between these 2 actions">
      <h2>Add an action between these 2 actions</h2>
      <NewAction
        choices={props.choices}
        submit="Insert the action"
        onCreate={async (what) => {
          const r = await props.onEdit((m) =>
            api.POST("/versions/{id}/actions", {
              params: { path: { id: props.versionId }, header: { "If-Match": m } },
              body: { ...what, between: { link_id: props.link.id }, position: props.spot },
            }),
          );
          if (r?.action) props.onAdded(r.action.id);
        }}
      />
      <p className="muted">Select the link and press Delete to remove it.</p>
    </section>
  );
}
