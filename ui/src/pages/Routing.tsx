import { Alert } from "../alert";
import { useEffect, useRef, useState } from "react";
import { allows, api, problemText, type Schemas, type Session } from "../api";
import { Link } from "../route";
import { FAMILY_LABEL, KIND_LABEL } from "./Routings";

type Routing = Schemas["RoutingDto"];
type Version = Schemas["VersionSummary"];

const when = (at: string) => new Date(at).toLocaleString(undefined, { dateStyle: "long", timeStyle: "short" });

/** The routing page (seed 001 §2): its versions grouped by status, each card offering what its
 * status allows and the caller's role permits. */
export function RoutingPage(props: { session: Session; id: string }) {
  const [routing, setRouting] = useState<Routing | null>(null);
  const [error, setError] = useState("");
  const [creating, setCreating] = useState(false);
  const load = async () => {
    const { data, error } = await api.GET("/routings/{id}", { params: { path: { id: props.id } } });
    if (data) setRouting(data);
    else setError(problemText(error));
  };
  useEffect(() => {
    load();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [props.id]);
  if (!routing) return error ? <Alert text={error} /> : <p>Loading…</p>;
  const family = routing.channel_family;
  const may = (verb: string) => allows(props.session, `routings.${family}:${verb}`);
  const development = routing.versions.filter((v) => v.status === "development" && !v.in_test);
  const inTest = routing.versions.filter((v) => v.status === "development" && v.in_test);
  const production = routing.versions.filter((v) => v.status === "production");
  const backup = routing.versions.filter((v) => v.status === "backup");
  const next = routing.planned_productions[0];
  const card = (v: Version) => <VersionCard key={v.id} version={v} family={family} may={may} onChanged={load} />;
  return (
    <section aria-labelledby="routing-title">
      <p className="crumbs">
        <Link to={`/routings/${family}`}>{FAMILY_LABEL[family]}</Link>
      </p>
      <div className="title-row">
        <h1 id="routing-title">{routing.name}</h1>
        <span className="tag">{KIND_LABEL[routing.kind]}</span>
        <code>{routing.reference}</code>
      </div>
      {routing.description && <p>{routing.description}</p>}
      <Alert text={error} />
      {routing.versions.length === 0 && (
        <p className="helper">Create a version of this smart routing to manage your incoming interactions. You can then place it in production.</p>
      )}
      <div className="statuses">
        <section aria-labelledby="development-title" className="status">
          <div className="title-row">
            <h2 id="development-title">In development</h2>
            {may("create") && (
              <button type="button" className="primary" onClick={() => setCreating(true)}>
                Create
              </button>
            )}
          </div>
          {creating && (
            <CreateVersion
              routing={routing}
              onDone={(created) => {
                setCreating(false);
                if (created) load();
              }}
            />
          )}
          {development.map(card)}
        </section>
        <section aria-labelledby="test-title" className="status">
          <h2 id="test-title">In test</h2>
          {inTest.map(card)}
        </section>
        <section aria-labelledby="production-title" className="status">
          <h2 id="production-title">In production</h2>
          {next && (
            <p className="banner" role="status">
              Automatic production of version {next.version_name} on {when(next.at)}
            </p>
          )}
          {routing.schedule_failure && (
            <p className="banner warning" role="status">
              The automatic production of version {routing.schedule_failure.version_name} on {when(routing.schedule_failure.scheduled_at)} did not happen: {routing.schedule_failure.message}
            </p>
          )}
          {production.map(card)}
        </section>
        <section aria-labelledby="backup-title" className="status">
          <h2 id="backup-title">In backup</h2>
          {backup.map(card)}
        </section>
      </div>
    </section>
  );
}

function VersionCard(props: { version: Version; family: string; may: (verb: string) => boolean; onChanged: () => void }) {
  const v = props.version;
  const [error, setError] = useState("");
  const [scheduling, setScheduling] = useState(false);
  const [testPoints, setTestPoints] = useState<Schemas["TestEntryPointDto"][]>([]);
  const confirmRef = useRef<HTMLDialogElement>(null);
  const dev = v.status === "development";
  useEffect(() => {
    if (!v.in_test) return;
    api.GET("/versions/{id}", { params: { path: { id: v.id } } }).then(({ data }) => setTestPoints(data?.test_entry_points ?? []));
  }, [v.id, v.in_test]);
  const act = async (call: () => Promise<{ error?: unknown; response: Response }>) => {
    setError("");
    const { error, response } = await call();
    if (response.ok) props.onChanged();
    else setError(problemText(error));
  };
  const path = { params: { path: { id: v.id } } };
  return (
    <article className="card" aria-labelledby={`v-${v.id}`}>
      <h3 id={`v-${v.id}`}>
        {v.name} <span className="muted">v{v.number}</span>
      </h3>
      {v.description && <p>{v.description}</p>}
      {v.scheduled_at && <p className="alert">This version has been put in scheduled production for {when(v.scheduled_at)}</p>}
      {v.in_test && (
        <div className="test-points">
          <p>Entry points testing this version:</p>
          {testPoints.length ? (
            <ul>
              {testPoints.map((e) => (
                <li key={e.id}>
                  {e.name} <span className="muted">({e.channel}{e.address ? ` ${e.address}` : ""})</span>
                </li>
              ))}
            </ul>
          ) : (
            <p className="muted">None yet: select this version on an entry point.</p>
          )}
        </div>
      )}
      <Alert text={error} />
      <div className="buttons">
        <Link className="button-link" to={`/routings/${props.family}/${v.routing_id}/versions/${v.id}`}>
          {dev && props.may("edit") ? "Edit" : "Open"}
        </Link>
        {(dev || v.status === "backup") && props.may("publish") && (
          <button type="button" className="primary" onClick={() => confirmRef.current?.showModal()}>
            Put in production
          </button>
        )}
        {dev && !v.in_test && props.may("publish") && (
          <button type="button" onClick={() => act(() => api.POST("/versions/{id}/put-in-test", path))}>
            Put in test
          </button>
        )}
        {dev && v.in_test && props.may("publish") && (
          <button type="button" onClick={() => act(() => api.POST("/versions/{id}/remove-from-test", path))}>
            Remove from test
          </button>
        )}
        {dev && !v.scheduled_at && props.may("publish") && (
          <button type="button" onClick={() => setScheduling(true)}>
            Schedule the production
          </button>
        )}
        {dev && v.scheduled_at && props.may("publish") && (
          <button type="button" onClick={() => act(() => api.POST("/versions/{id}/unschedule", path))}>
            Remove the planned production from the schedule
          </button>
        )}
        {props.may("create") && (
          <button type="button" onClick={() => act(() => api.POST("/versions/{id}/duplicate", { ...path, body: {} }))}>
            Duplicate
          </button>
        )}
        {(dev || v.status === "backup") && props.may("delete") && (
          <button
            type="button"
            className="danger"
            onClick={() => {
              if (confirm(`Delete the version "${v.name}"? This cannot be undone.`)) act(() => api.DELETE("/versions/{id}", path));
            }}
          >
            Delete
          </button>
        )}
      </div>
      {scheduling && (
        <Schedule
          onCancel={() => setScheduling(false)}
          onSave={(at) =>
            act(async () => {
              const r = await api.POST("/versions/{id}/schedule", { ...path, body: { at } });
              if (r.response.ok) setScheduling(false);
              return r;
            })
          }
        />
      )}
      <dialog ref={confirmRef} aria-labelledby={`confirm-${v.id}`}>
        <h2 id={`confirm-${v.id}`}>Put "{v.name}" in production?</h2>
        <p>The version will become read-only — to make further changes, you will need to create or copy a development version.</p>
        <p>If this smart routing already has a production version, it will automatically go into backup. You can put it back into production at any time.</p>
        <form method="dialog" className="buttons">
          <button
            type="submit"
            className="primary"
            onClick={() => act(() => api.POST("/versions/{id}/put-in-production", path))}
          >
            Put in production
          </button>
          <button type="submit">Cancel</button>
        </form>
      </dialog>
    </article>
  );
}

function Schedule(props: { onSave: (at: string) => void; onCancel: () => void }) {
  const [local, setLocal] = useState("");
  return (
    <form
      className="panel"
      aria-label="Schedule the production"
      onSubmit={(e) => {
        e.preventDefault();
        // the input's local date and time, as an instant
        props.onSave(new Date(local).toISOString());
      }}
    >
      <label>
        Date and time of the automatic production
        <input type="datetime-local" required value={local} onChange={(e) => setLocal(e.target.value)} />
      </label>
      <div className="buttons">
        <button type="submit" className="primary">
          Save
        </button>
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function CreateVersion(props: { routing: Routing; onDone: (created: boolean) => void }) {
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [copyOf, setCopyOf] = useState("");
  const [error, setError] = useState("");
  return (
    <form
      className="panel"
      aria-label="Create a version"
      onSubmit={async (e) => {
        e.preventDefault();
        const { data, error } = await api.POST("/routings/{id}/versions", {
          params: { path: { id: props.routing.id } },
          body: { name, description, copy_of: copyOf || null },
        });
        if (data) props.onDone(true);
        else setError(problemText(error));
      }}
    >
      <fieldset>
        <legend>From</legend>
        <label className="inline">
          <input type="radio" name="from" checked={!copyOf} onChange={() => setCopyOf("")} /> From zero
        </label>
        <label className="inline">
          <input type="radio" name="from" checked={!!copyOf} disabled={!props.routing.versions.length} onChange={() => setCopyOf(props.routing.versions[0]?.id ?? "")} /> A copy of
        </label>
        {copyOf && (
          <select aria-label="Version to copy" value={copyOf} onChange={(e) => setCopyOf(e.target.value)}>
            {props.routing.versions.map((v) => (
              <option key={v.id} value={v.id}>
                {v.name} (v{v.number})
              </option>
            ))}
          </select>
        )}
      </fieldset>
      <label>
        Name
        <input required value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      <label>
        Description
        <textarea value={description} onChange={(e) => setDescription(e.target.value)} />
      </label>
      <Alert text={error} />
      <div className="buttons">
        <button type="submit" className="primary">
          Create the version
        </button>
        <button type="button" onClick={() => props.onDone(false)}>
          Cancel
        </button>
      </div>
    </form>
  );
}
