import { Alert } from "../alert";
import { DeleteButton } from "../buttons";
import { useEffect, useMemo, useState } from "react";
import { allows, api, everyPage, problemText, type Schemas, type Session } from "../api";
import { Link, navigate } from "../route";

type Family = Schemas["Family"];
type Kind = Schemas["Kind"];
type Summary = Schemas["RoutingSummary"];

export const KIND_LABEL: Record<Kind, string> = {
  interaction_start: "Interaction start",
  interaction_end: "Interaction end",
};
export const FAMILY_LABEL: Record<Family, string> = {
  messaging: "Messaging smart routings",
  email: "Email smart routings",
};

/** Every routing of a family, page after page (the API gives at most 200 at a time). */
function allRoutings(family: Family): Promise<Summary[]> {
  return everyPage((after) => api.GET("/routings", { params: { query: { channel_family: family, limit: 200, after } } }));
}

export function Routings(props: { session: Session; family: Family }) {
  const { session, family } = props;
  const [items, setItems] = useState<Summary[] | null>(null);
  const [error, setError] = useState("");
  const [kind, setKind] = useState<Kind | "">("");
  const [search, setSearch] = useState("");
  const [creating, setCreating] = useState(false);
  const reload = () => allRoutings(family).then(setItems, (e) => setError(problemText(e)));
  useEffect(() => {
    setItems(null);
    setError("");
    reload();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [family]);
  const shown = useMemo(() => {
    const q = search.trim().toLowerCase();
    return (items ?? []).filter(
      (r) => (!kind || r.kind === kind) && (!q || r.name.toLowerCase().includes(q) || r.reference.toLowerCase().includes(q)),
    );
  }, [items, kind, search]);
  const mayCreate = allows(session, `routings.${family}:create`);
  const mayDelete = allows(session, `routings.${family}:delete`);
  return (
    <section aria-labelledby="routings-title">
      <div className="title-row">
        <h1 id="routings-title">{FAMILY_LABEL[family]}</h1>
        {mayCreate && (
          <button type="button" className="primary" onClick={() => setCreating(true)}>
            New smart routing
          </button>
        )}
      </div>
      {creating && <CreateRouting family={family} onDone={() => setCreating(false)} />}
      <div className="filters" role="search">
        <label>
          Search
          <input type="search" placeholder="Name or reference" value={search} onChange={(e) => setSearch(e.target.value)} />
        </label>
        <label>
          Type
          <select value={kind} onChange={(e) => setKind(e.target.value as Kind | "")}>
            <option value="">All</option>
            <option value="interaction_start">{KIND_LABEL.interaction_start}</option>
            <option value="interaction_end">{KIND_LABEL.interaction_end}</option>
          </select>
        </label>
      </div>
      <Alert text={error} />
      {items === null && !error ? (
        <p>Loading…</p>
      ) : (
        <table className="list">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Reference</th>
              <th scope="col">Type</th>
              <th scope="col">Updated</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {shown.map((r) => (
              <RoutingRow key={r.id} routing={r} mayCreate={mayCreate} mayDelete={mayDelete} onChanged={reload} />
            ))}
          </tbody>
        </table>
      )}
      {items !== null && shown.length === 0 && <p className="empty">No smart routing{search || kind ? " matches" : " yet"}.</p>}
    </section>
  );
}

function RoutingRow(props: { routing: Summary; mayCreate: boolean; mayDelete: boolean; onChanged: () => void }) {
  const r = props.routing;
  const [error, setError] = useState("");
  const [copying, setCopying] = useState(false);
  return (
    <tr>
      <td>
        <Link to={`/routings/${r.channel_family}/${r.id}`}>{r.name}</Link>
        <Alert text={error} />
        {copying && <CopyRouting routing={r} onDone={() => setCopying(false)} />}
      </td>
      <td>
        <code>{r.reference}</code>
      </td>
      <td>{KIND_LABEL[r.kind]}</td>
      <td>{new Date(r.updated_at).toLocaleString()}</td>
      <td className="row-actions">
        {props.mayCreate && (
          <button type="button" onClick={() => setCopying(true)}>
            Copy
          </button>
        )}
        {props.mayDelete && (
          <DeleteButton
            question={`Delete the smart routing "${r.name}"?`}
            remove={() => api.DELETE("/routings/{id}", { params: { path: { id: r.id } } })}
            onDeleted={props.onChanged}
            onError={setError}
          />
        )}
      </td>
    </tr>
  );
}

function CreateRouting(props: { family: Family; onDone: () => void }) {
  const [name, setName] = useState("");
  const [reference, setReference] = useState("");
  const [description, setDescription] = useState("");
  const [kind, setKind] = useState<Kind>("interaction_start");
  const [error, setError] = useState("");
  return (
    <form
      className="panel"
      aria-label="New smart routing"
      onSubmit={async (e) => {
        e.preventDefault();
        const { data, error } = await api.POST("/routings", {
          body: { name, reference, description, kind, channel_family: props.family },
        });
        if (data) navigate(`/routings/${props.family}/${data.id}`);
        else setError(problemText(error));
      }}
    >
      <h2>New smart routing</h2>
      <label>
        Name
        <input required value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      <label>
        Reference
        <input required value={reference} onChange={(e) => setReference(e.target.value)} />
      </label>
      <label>
        Description
        <textarea value={description} onChange={(e) => setDescription(e.target.value)} />
      </label>
      <fieldset>
        <legend>Type (cannot be changed after creation)</legend>
        {(["interaction_start", "interaction_end"] as const).map((k) => (
          <label key={k} className="inline">
            <input type="radio" name="kind" checked={kind === k} onChange={() => setKind(k)} /> {KIND_LABEL[k]}
          </label>
        ))}
      </fieldset>
      <Alert text={error} />
      <div className="buttons">
        <button type="submit" className="primary">
          Save
        </button>
        <button type="button" onClick={props.onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function CopyRouting(props: { routing: Summary; onDone: () => void }) {
  const [name, setName] = useState(`${props.routing.name} (copy)`);
  const [reference, setReference] = useState(`${props.routing.reference}_COPY`);
  const [error, setError] = useState("");
  return (
    <form
      className="panel"
      aria-label={`Copy the smart routing ${props.routing.name}`}
      onSubmit={async (e) => {
        e.preventDefault();
        const { data, error } = await api.POST("/routings/{id}/copy", {
          params: { path: { id: props.routing.id } },
          body: { name, reference },
        });
        if (data) navigate(`/routings/${props.routing.channel_family}/${data.id}`);
        else setError(problemText(error));
      }}
    >
      <label>
        Name
        <input required value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      <label>
        Reference
        <input required value={reference} onChange={(e) => setReference(e.target.value)} />
      </label>
      <Alert text={error} />
      <div className="buttons">
        <button type="submit" className="primary">
          Copy the smart routing
        </button>
        <button type="button" onClick={props.onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}
