import { Alert } from "../alert";
import { DeleteButton } from "../buttons";
import { useEffect, useState } from "react";
import Form from "@rjsf/core";
import type { RJSFSchema } from "@rjsf/utils";
import { allows, api, everyPage, objectKinds, problemText, type Schemas, type Session } from "../api";
import { Link } from "../route";
import { validator } from "../forms";
import { widgets } from "../widgets";

type Kind = Schemas["ObjectKindDto"];
type Item = Schemas["ObjectDto"];

// Every collection of business objects has the same shape (ObjectDto, ObjectBody, ObjectPage),
// so one typed path stands for all of them; the real one comes from GET /object-kinds.
type Collection = "/checkpoints";
type Member = "/checkpoints/{id}";


/** The kinds of business objects the role may read. */
export function ObjectKinds(props: { session: Session }) {
  const [list, setList] = useState<Kind[]>([]);
  useEffect(() => {
    objectKinds().then(setList, () => setList([]));
  }, []);
  return (
    <section aria-labelledby="kinds-title">
      <h1 id="kinds-title">Business objects</h1>
      <ul className="kinds">
        {list
          .filter((k) => allows(props.session, `${k.resource}:read`))
          .map((k) => (
            <li key={k.kind}>
              <Link to={`/objects/${k.kind}`}>{k.label}</Link>
            </li>
          ))}
      </ul>
    </section>
  );
}

/** One kind's objects: the list, and a form made from the kind's data schema. */
export function Objects(props: { session: Session; kind: string }) {
  const [kind, setKind] = useState<Kind | null>(null);
  const [items, setItems] = useState<Item[]>([]);
  const [editing, setEditing] = useState<Item | "new" | null>(null);
  const [watching, setWatching] = useState<string | null>(null);
  const [browsing, setBrowsing] = useState<Item | null>(null);
  const [error, setError] = useState("");
  const reload = (k: Kind) =>
    everyPage((after) => api.GET(k.path as Collection, { params: { query: { limit: 200, after } } })).then(setItems, (e) => setError(problemText(e)));
  useEffect(() => {
    objectKinds().then((all) => {
      const k = all.find((x) => x.kind === props.kind) ?? null;
      setKind(k);
      setEditing(null);
      if (k) reload(k);
    });
  }, [props.kind]);
  if (!kind) return <p>Loading…</p>;
  const may = (verb: string) => allows(props.session, `${kind.resource}:${verb}`);
  return (
    <section aria-labelledby="objects-title">
      <p className="crumbs">
        <Link to="/objects">Business objects</Link>
      </p>
      <div className="title-row">
        <h1 id="objects-title">{kind.label}</h1>
        {may("create") && (
          <button type="button" className="primary" onClick={() => setEditing("new")}>
            New
          </button>
        )}
      </div>
      <Alert text={error} />
      {editing && (
        <ObjectForm
          key={editing === "new" ? "new" : editing.id + editing.revision}
          kind={kind}
          item={editing === "new" ? null : editing}
          editable={editing === "new" ? may("create") : may("edit")}
          onDone={(changed) => {
            setEditing(null);
            if (changed) reload(kind);
          }}
        />
      )}
      <table className="list">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Reference</th>
            <th scope="col">Updated</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {items.map((o) => (
            <tr key={o.id}>
              <td>{o.name}</td>
              <td>
                <code>{o.reference}</code>
              </td>
              <td>{new Date(o.updated_at).toLocaleString()}</td>
              <td className="row-actions">
                <button type="button" onClick={() => setEditing(o)}>
                  {may("edit") ? "Edit" : "Open"}
                </button>
                {kind.kind === "database" && (
                  <button type="button" onClick={() => setBrowsing(browsing?.id === o.id ? null : o)} aria-expanded={browsing?.id === o.id}>
                    Rows
                  </button>
                )}
                {kind.kind === "queue" && (
                  <button type="button" onClick={() => setWatching(watching === o.id ? null : o.id)} aria-expanded={watching === o.id}>
                    Live status
                  </button>
                )}
                {may("delete") && (
                  <DeleteButton
                    question={`Delete "${o.name}"?`}
                    remove={() => api.DELETE(`${kind.path}/{id}` as Member, { params: { path: { id: o.id } } })}
                    onDeleted={() => reload(kind)}
                    onError={setError}
                  />
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {watching && <GroupStatus id={watching} />}
      {browsing && <DatabaseRows key={browsing.id + browsing.revision} item={browsing} editable={may("edit")} />}
      {items.length === 0 && <p className="empty">None yet.</p>}
    </section>
  );
}

function ObjectForm(props: { kind: Kind; item: Item | null; editable: boolean; onDone: (changed: boolean) => void }) {
  const { kind, item } = props;
  const [reference, setReference] = useState(item?.reference ?? "");
  const [name, setName] = useState(item?.name ?? "");
  const [description, setDescription] = useState(item?.description ?? "");
  const [error, setError] = useState("");
  const [conflict, setConflict] = useState(false);
  const [secret, setSecret] = useState("");
  const [webhookSecret, setWebhookSecret] = useState("");
  const schema = kind.data_schema as unknown as RJSFSchema | null;
  const takesSecret = kind.kind === "web_service" || kind.kind === "payment_module" || kind.kind === "crm_directory";
  const takesWebhookSecret = kind.kind === "payment_module";
  const save = async (data: unknown) => {
    setError("");
    const body = { reference, name, description, data: (data ?? null) as Record<string, never> | null, ...(secret ? { secret } : {}), ...(webhookSecret ? { webhook_secret: webhookSecret } : {}) };
    const r = item
      ? await api.PATCH(`${kind.path}/{id}` as Member, { params: { path: { id: item.id }, header: { "If-Match": `"${item.revision}"` } }, body })
      : await api.POST(kind.path as Collection, { body });
    if (r.response.ok) props.onDone(true);
    else if (r.response.status === 412) setConflict(true);
    else setError(problemText(r.error));
  };
  const fields = (
    <>
      <label>
        Reference
        <input required value={reference} disabled={!props.editable} onChange={(e) => setReference(e.target.value)} />
      </label>
      <label>
        Name
        <input required value={name} disabled={!props.editable} onChange={(e) => setName(e.target.value)} />
      </label>
      <label>
        Description
        <textarea value={description} disabled={!props.editable} onChange={(e) => setDescription(e.target.value)} />
      </label>
      {takesSecret && (
        <label>
          {takesWebhookSecret
            ? "API key of the provider"
            : kind.kind === "crm_directory"
              ? "Client secret of the Salesforce connected app (directories connected to Salesforce)"
              : "Secret: the password, bearer token or API key of its authentication"}{" "}
          (write-only: never shown again
          {item?.secret_set ? "; set — type a new one to replace it" : ""})
          <input type="password" autoComplete="new-password" value={secret} disabled={!props.editable} onChange={(e) => setSecret(e.target.value)} />
        </label>
      )}
      {takesWebhookSecret && (
        <label>
          Webhook signing secret, as the provider gives it (write-only: never shown again
          {item?.webhook_secret_set ? "; set — type a new one to replace it" : ""})
          <input type="password" autoComplete="new-password" value={webhookSecret} disabled={!props.editable} onChange={(e) => setWebhookSecret(e.target.value)} />
        </label>
      )}
    </>
  );
  const buttons = (
    <div className="buttons">
      {props.editable && (
        <button type="submit" className="primary">
          Save
        </button>
      )}
      <button type="button" onClick={() => props.onDone(false)}>
        {props.editable ? "Cancel" : "Close"}
      </button>
    </div>
  );
  return (
    <div className="panel wide" role="group" aria-label={item ? `Edit ${item.name}` : "New object"}>
      <h2>{item ? item.name : `New: ${kind.label}`}</h2>
      {conflict && (
        <p role="alert" className="banner warning">
          Someone changed it since you opened it; nothing was overwritten. Close and open it again.
        </p>
      )}
      <Alert text={error} />
      {schema ? (
        <Form
          schema={schema}
          formData={item?.data ?? undefined}
          validator={validator}
          widgets={widgets}
          disabled={!props.editable}
          noHtml5Validate
          showErrorList={false}
          onSubmit={({ formData }) => save(formData)}
        >
          {fields}
          {buttons}
        </Form>
      ) : (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            save(null);
          }}
        >
          {fields}
          {buttons}
        </form>
      )}
      {takesSecret && item && props.editable && <TryWebService item={item} />}
      {takesSecret && item && <QueuedCalls id={item.id} />}
    </div>
  );
}

/** The web service's asynchronous calls, newest first (`GET /web-services/{id}/calls`). */
function QueuedCalls(props: { id: string }) {
  const [calls, setCalls] = useState<Schemas["WebCallDto"][] | null>(null);
  useEffect(() => {
    api.GET("/web-services/{id}/calls", { params: { path: { id: props.id }, query: { limit: 20 } } }).then(({ data }) => setCalls(data?.items ?? []));
  }, [props.id]);
  if (!calls) return null;
  return (
    <section aria-labelledby="calls-title">
      <h3 id="calls-title">Asynchronous calls</h3>
      {calls.length === 0 ? (
        <p className="muted">No asynchronous call yet.</p>
      ) : (
        <table className="list">
          <thead>
            <tr>
              <th scope="col">Queued</th>
              <th scope="col">State</th>
              <th scope="col">Attempts</th>
              <th scope="col">Last answer</th>
            </tr>
          </thead>
          <tbody>
            {calls.map((c) => (
              <tr key={c.id}>
                <td>{new Date(c.created_at).toLocaleString()}</td>
                <td>{c.state.replace("_", " ")}</td>
                <td>{c.attempts}</td>
                <td>{[c.last_status, c.last_error].filter((x) => x != null).join(" — ") || "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** Calls a saved web service with sample inputs: the request, the response, the mapped
 * fields (`POST /web-services/{id}/try`). */
function TryWebService(props: { item: Item }) {
  const declared = ((props.item.data as { inputs?: string[] } | null)?.inputs ?? []).slice(0, 50);
  const [values, setValues] = useState<Record<string, string>>({});
  const [result, setResult] = useState<Schemas["TriedWebService"] | null>(null);
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  return (
    <section aria-labelledby="try-title">
      <h3 id="try-title">Try it</h3>
      <p className="muted">A real call with these values, as a routing would make it (the saved definition).</p>
      {declared.map((n) => (
        <label key={n}>
          {n}
          <input value={values[n] ?? ""} onChange={(e) => setValues((v) => ({ ...v, [n]: e.target.value }))} />
        </label>
      ))}
      <button
        type="button"
        disabled={busy}
        onClick={async () => {
          setBusy(true);
          setError("");
          const { data, error } = await api.POST("/web-services/{id}/try", {
            params: { path: { id: props.item.id } },
            body: { inputs: declared.map((name) => ({ name, value: values[name] ?? "" })) },
          });
          setBusy(false);
          if (data) setResult(data);
          else setError(problemText(error));
        }}
      >
        Call it
      </button>
      <Alert text={error} />
      {result && (
        <div className="tried" role="status">
          <p>
            <strong>{result.ok ? "OK" : "Not OK"}</strong> in {result.millis} ms{result.error ? `: ${result.error}` : ""}
          </p>
          {result.request && (
            <pre>
              {result.request.method} {result.request.url}
              {result.request.headers.map((h) => `\n${h.name}: ${h.value}`).join("")}
              {result.request.body ? `\n\n${result.request.body}` : ""}
            </pre>
          )}
          {result.response && (
            <pre>
              {result.response.status} {result.response.content_type ?? ""}
              {`\n\n${result.response.body}`}
            </pre>
          )}
          {result.fields.length > 0 && (
            <dl className="email-header">
              {result.fields.map((f) => (
                <div key={f.name} style={{ display: "contents" }}>
                  <dt>{f.name}</dt>
                  <dd>{f.value}</dd>
                </div>
              ))}
            </dl>
          )}
        </div>
      )}
    </section>
  );
}

/** A group (queue) now, every 2 s: its members' presence and load, who waits, the estimate. */
function GroupStatus(props: { id: string }) {
  const [status, setStatus] = useState<Schemas["GroupStatus"] | null>(null);
  const [users, setUsers] = useState<Record<string, string>>({});
  useEffect(() => {
    let live = true;
    const look = () =>
      api.GET("/groups/{id}/status", { params: { path: { id: props.id } } }).then(({ data }) => {
        if (live && data) setStatus(data);
      });
    look();
    const t = setInterval(look, 2000);
    everyPage((after) => api.GET("/users", { params: { query: { limit: 200, after } } })).then(
      (list) => setUsers(Object.fromEntries(list.map((u) => [u.id, u.name]))),
      () => setUsers({}),
    );
    return () => {
      live = false;
      clearInterval(t);
    };
  }, [props.id]);
  if (!status) return <p>Loading…</p>;
  return (
    <section className="panel wide" aria-label="Live status of the group">
      <h2>Live status</h2>
      <p>
        {status.waiting_count} waiting
        {status.estimated_wait_seconds != null ? ` · a new arrival would wait about ${status.estimated_wait_seconds} s` : " · nobody online"}
      </p>
      <table className="list">
        <thead>
          <tr>
            <th scope="col">Member</th>
            <th scope="col">Presence</th>
            <th scope="col">Conversations</th>
          </tr>
        </thead>
        <tbody>
          {status.members.map((m) => (
            <tr key={m.user_id}>
              <td>{users[m.user_id] ?? m.user_id}</td>
              <td>{m.presence}</td>
              <td>
                {m.open_conversations} / {m.capacity}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

type Column = { name: string; type: string; required?: boolean; unique?: boolean; proposals?: string[] };
type Row = Schemas["RowDto"];

/** A database's rows: filtered and paged, added, deleted, imported from and exported to CSV
 * (`/databases/{id}/rows`). */
function DatabaseRows(props: { item: Item; editable: boolean }) {
  const id = props.item.id;
  const columns = ((props.item.data as { columns?: Column[] } | null)?.columns ?? []).slice(0, 50);
  const [rows, setRows] = useState<Row[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [total, setTotal] = useState<number | null>(null);
  const [filterColumn, setFilterColumn] = useState(columns[0]?.name ?? "");
  const [filterValue, setFilterValue] = useState("");
  const [adding, setAdding] = useState<Record<string, string>>({});
  const [report, setReport] = useState<Schemas["ImportReportDto"] | null>(null);
  const [error, setError] = useState("");
  const load = async (after: string | null) => {
    setError("");
    const filter = filterValue ? [`${filterColumn}:${filterValue}`] : undefined;
    const { data, error } = await api.GET("/databases/{id}/rows", { params: { path: { id }, query: { limit: 50, after: after ?? undefined, filter } } });
    if (!data) return setError(problemText(error));
    setRows((r) => (after ? [...r, ...data.items] : data.items));
    setNext(data.next_after ?? null);
    setTotal(data.total);
  };
  useEffect(() => {
    load(null);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [id]);
  const shown = (v: unknown) => (v === undefined || v === null ? "" : typeof v === "boolean" ? (v ? "yes" : "no") : String(v));
  return (
    <section className="panel wide" aria-labelledby="rows-title">
      <h2 id="rows-title">Rows of {props.item.name}</h2>
      <p className="muted">
        {total ?? "…"} rows · <a href={`/api/v1/databases/${id}/rows/export`}>Export as CSV</a>
      </p>
      <form
        className="inline"
        aria-label="Filter the rows"
        onSubmit={(e) => {
          e.preventDefault();
          load(null);
        }}
      >
        <label>
          Column
          <select value={filterColumn} onChange={(e) => setFilterColumn(e.target.value)}>
            {columns.map((c) => (
              <option key={c.name}>{c.name}</option>
            ))}
          </select>
        </label>
        <label>
          Equals
          <input value={filterValue} onChange={(e) => setFilterValue(e.target.value)} />
        </label>
        <button type="submit">Filter</button>
      </form>
      <Alert text={error} />
      <table className="list">
        <thead>
          <tr>
            {columns.map((c) => (
              <th scope="col" key={c.name}>
                {c.name}
              </th>
            ))}
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.id}>
              {columns.map((c) => (
                <td key={c.name}>{shown((r.values as Record<string, unknown>)[c.name])}</td>
              ))}
              <td className="row-actions">
                {props.editable && (
                  <DeleteButton
                    question="Delete this row?"
                    remove={() => api.DELETE("/databases/{id}/rows/{row_id}", { params: { path: { id, row_id: r.id } } })}
                    onDeleted={() => load(null)}
                    onError={setError}
                  />
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length === 0 && <p className="empty">No row{filterValue ? " matches" : " yet"}.</p>}
      {next && (
        <button type="button" onClick={() => load(next)}>
          More rows
        </button>
      )}
      {props.editable && (
        <>
          <form
            aria-label="Add a row"
            onSubmit={async (e) => {
              e.preventDefault();
              setError("");
              const values = Object.fromEntries(Object.entries(adding).filter(([, v]) => v !== ""));
              const { error } = await api.POST("/databases/{id}/rows", { params: { path: { id } }, body: { values: values as unknown as Schemas["RowBody"]["values"] } });
              if (error) return setError(problemText(error));
              setAdding({});
              load(null);
            }}
          >
            <h3>Add a row</h3>
            {columns.map((c) => (
              <label key={c.name}>
                {c.name}
                {c.required ? " (required)" : ""}
                {c.type === "list" || c.type === "boolean" ? (
                  <select value={adding[c.name] ?? ""} onChange={(e) => setAdding((a) => ({ ...a, [c.name]: e.target.value }))}>
                    <option value="">—</option>
                    {(c.type === "list" ? (c.proposals ?? []) : ["yes", "no"]).map((p) => (
                      <option key={p}>{p}</option>
                    ))}
                  </select>
                ) : (
                  <input
                    type={c.type === "date" ? "date" : "text"}
                    inputMode={c.type === "number" ? "decimal" : undefined}
                    value={adding[c.name] ?? ""}
                    onChange={(e) => setAdding((a) => ({ ...a, [c.name]: e.target.value }))}
                  />
                )}
              </label>
            ))}
            <button type="submit" className="primary">
              Add
            </button>
          </form>
          <form
            aria-label="Import rows"
            onSubmit={async (e) => {
              e.preventDefault();
              setError("");
              setReport(null);
              const file = (e.currentTarget.elements.namedItem("csv") as HTMLInputElement).files?.[0];
              if (!file) return setError("Choose a CSV file first.");
              const { data, error } = await api.POST("/databases/{id}/rows/import", {
                params: { path: { id } },
                body: file as unknown as string,
                bodySerializer: (b) => b as unknown as string,
                headers: { "content-type": "text/csv" },
              });
              if (!data) return setError(problemText(error));
              setReport(data);
              load(null);
            }}
          >
            <h3>Import a CSV file</h3>
            <p className="muted">Its first line names the columns; each other line is a row. Refused lines are listed, the others added.</p>
            <label>
              CSV file
              <input type="file" name="csv" accept=".csv,text/csv" />
            </label>
            <button type="submit">Import</button>
          </form>
          {report && (
            <div role="status">
              <p>
                {report.inserted} added, {report.refused} refused.
              </p>
              {report.errors.length > 0 && (
                <ul>
                  {report.errors.map((e) => (
                    <li key={e.line}>
                      Line {e.line}: {e.message}
                    </li>
                  ))}
                </ul>
              )}
            </div>
          )}
        </>
      )}
    </section>
  );
}
