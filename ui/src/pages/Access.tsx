import { Alert } from "../alert";
import { DeleteButton } from "../buttons";
import { useEffect, useState } from "react";
import { allows, api, everyPage, problemText, type Schemas, type Session } from "../api";

/** Who may do what: agents (users), accounts, API tokens, roles, and the audit log. */
export function Access(props: { session: Session }) {
  const may = (p: string) => allows(props.session, p);
  const tabs = [
    may("accounts:read") && "Agents",
    may("accounts:read") && "Accounts",
    may("accounts:read") && "API tokens",
    may("accounts:read") && "Roles",
    may("audit:read") && "Audit log",
  ].filter(Boolean) as string[];
  const [tab, setTab] = useState(tabs[0] ?? "");
  return (
    <section aria-labelledby="access-title">
      <h1 id="access-title">Access</h1>
      <div role="tablist" aria-label="Access" className="tabs">
        {tabs.map((t) => (
          <button key={t} type="button" role="tab" aria-selected={tab === t} onClick={() => setTab(t)}>
            {t}
          </button>
        ))}
      </div>
      <div role="tabpanel" aria-label={tab}>
        {tab === "Agents" && <Agents mayCreate={may("accounts:create")} />}
        {tab === "Accounts" && <Accounts mayCreate={may("accounts:create")} />}
        {tab === "API tokens" && <Tokens mayCreate={may("accounts:create")} />}
        {tab === "Roles" && <Roles session={props.session} />}
        {tab === "Audit log" && <Audit />}
      </div>
    </section>
  );
}

function Shown(props: { secret: string | null | undefined; what: string }) {
  if (!props.secret) return null;
  return (
    <p role="status" className="alert">
      The {props.what}, shown this once: <code>{props.secret}</code>
    </p>
  );
}

function Agents(props: { mayCreate: boolean }) {
  const [items, setItems] = useState<Schemas["UserDto"][]>([]);
  const [form, setForm] = useState({ reference: "", name: "", email: "", password: "" });
  const [token, setToken] = useState<string | null>(null);
  const [error, setError] = useState("");
  const reload = () => everyPage((after) => api.GET("/users", { params: { query: { limit: 200, after } } })).then(setItems, (e) => setError(problemText(e)));
  useEffect(() => {
    reload();
  }, []);
  return (
    <>
      {props.mayCreate && (
        <form
          className="panel"
          aria-label="New agent"
          onSubmit={async (e) => {
            e.preventDefault();
            setError("");
            const { data, error } = await api.POST("/users", {
              body: { reference: form.reference, name: form.name, ...(form.email ? { email: form.email, password: form.password } : {}) },
            });
            if (!data) return setError(problemText(error));
            setToken(data.token ?? null);
            setForm({ reference: "", name: "", email: "", password: "" });
            reload();
          }}
        >
          <h2>New agent</h2>
          {(["reference", "name", "email", "password"] as const).map((k) => (
            <label key={k}>
              {k[0].toUpperCase() + k.slice(1)}
              {k === "email" || k === "password" ? " (to sign in to the desk)" : ""}
              <input
                type={k === "password" ? "password" : k === "email" ? "email" : "text"}
                required={k === "reference" || k === "name"}
                autoComplete={k === "password" ? "new-password" : "off"}
                value={form[k]}
                onChange={(e) => setForm({ ...form, [k]: e.target.value })}
              />
            </label>
          ))}
          <Alert text={error} />
          <button type="submit" className="primary">
            Create the agent
          </button>
        </form>
      )}
      <Shown secret={token} what="agent's API token" />
      <table className="list">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Reference</th>
            <th scope="col">Presence</th>
            <th scope="col">Open conversations</th>
          </tr>
        </thead>
        <tbody>
          {items.map((u) => (
            <tr key={u.id}>
              <td>{u.name}</td>
              <td>
                <code>{u.reference}</code>
              </td>
              <td>{u.presence}</td>
              <td>
                {u.open_conversations} / {u.capacity}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function Accounts(props: { mayCreate: boolean }) {
  const [items, setItems] = useState<Schemas["AccountDto"][]>([]);
  const [roles, setRoles] = useState<Schemas["RoleDto"][]>([]);
  const [form, setForm] = useState({ email: "", name: "", password: "", role: "designer" });
  const [error, setError] = useState("");
  const reload = () => everyPage((after) => api.GET("/accounts", { params: { query: { limit: 200, after } } })).then(setItems, (e) => setError(problemText(e)));
  useEffect(() => {
    reload();
    api.GET("/roles").then(({ data }) => setRoles((data?.items ?? []).filter((r) => r.reference !== "agent")));
  }, []);
  return (
    <>
      {props.mayCreate && (
        <form
          className="panel"
          aria-label="New account"
          onSubmit={async (e) => {
            e.preventDefault();
            setError("");
            const { data, error } = await api.POST("/accounts", { body: form });
            if (!data) return setError(problemText(error));
            setForm({ email: "", name: "", password: "", role: form.role });
            reload();
          }}
        >
          <h2>New account</h2>
          <label>
            Email
            <input type="email" required value={form.email} onChange={(e) => setForm({ ...form, email: e.target.value })} />
          </label>
          <label>
            Name
            <input required value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />
          </label>
          <label>
            Password
            <input type="password" autoComplete="new-password" required value={form.password} onChange={(e) => setForm({ ...form, password: e.target.value })} />
          </label>
          <label>
            Role
            <select value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value })}>
              {roles.map((r) => (
                <option key={r.reference} value={r.reference}>
                  {r.name}
                </option>
              ))}
            </select>
          </label>
          <Alert text={error} />
          <button type="submit" className="primary">
            Create the account
          </button>
        </form>
      )}
      <table className="list">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Email</th>
            <th scope="col">Role</th>
            <th scope="col">Status</th>
          </tr>
        </thead>
        <tbody>
          {items.map((a) => (
            <tr key={a.id}>
              <td>{a.name}</td>
              <td>{a.email ?? "—"}</td>
              <td>{a.role}</td>
              <td>{a.status}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function Tokens(props: { mayCreate: boolean }) {
  const [items, setItems] = useState<Schemas["TokenDto"][]>([]);
  const [name, setName] = useState("");
  const [role, setRole] = useState("viewer");
  const [token, setToken] = useState<string | null>(null);
  const [error, setError] = useState("");
  const reload = () => everyPage((after) => api.GET("/api-tokens", { params: { query: { limit: 200, after } } })).then(setItems, (e) => setError(problemText(e)));
  useEffect(() => {
    reload();
  }, []);
  return (
    <>
      {props.mayCreate && (
        <form
          className="panel"
          aria-label="New API token"
          onSubmit={async (e) => {
            e.preventDefault();
            setError("");
            const { data, error } = await api.POST("/api-tokens", { body: { name, role } });
            if (!data) return setError(problemText(error));
            setToken(data.token ?? null);
            setName("");
            reload();
          }}
        >
          <h2>New API token</h2>
          <label>
            Name
            <input required value={name} onChange={(e) => setName(e.target.value)} />
          </label>
          <label>
            Role
            <select value={role} onChange={(e) => setRole(e.target.value)}>
              {["administrator", "designer", "publisher", "supervisor", "viewer"].map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
          </label>
          <Alert text={error} />
          <button type="submit" className="primary">
            Create the token
          </button>
        </form>
      )}
      <Shown secret={token} what="token" />
      <table className="list">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Role</th>
            <th scope="col">Created</th>
            <th scope="col">State</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {items.map((t) => (
            <tr key={t.id}>
              <td>{t.name}</td>
              <td>{t.role}</td>
              <td>{new Date(t.created_at).toLocaleString()}</td>
              <td>{t.revoked_at ? "revoked" : t.expires_at ? `expires ${new Date(t.expires_at).toLocaleString()}` : "active"}</td>
              <td className="row-actions">
                {!t.revoked_at && props.mayCreate && (
                  <button
                    type="button"
                    className="danger"
                    onClick={async () => {
                      const { error, response } = await api.DELETE("/api-tokens/{id}", { params: { path: { id: t.id } } });
                      if (!response.ok) setError(problemText(error));
                      reload();
                    }}
                  >
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

type Role = Schemas["RoleDto"];
type Permission = NonNullable<Schemas["RoleBody"]["permissions"]>[number];

/** The roles: the built-in ones read-only, custom ones created, edited (name, permissions) and
 * deleted as the signed-in role allows. */
function Roles(props: { session: Session }) {
  const [items, setItems] = useState<Role[]>([]);
  const [every, setEvery] = useState<Permission[]>([]);
  const [editing, setEditing] = useState<Role | "new" | null>(null);
  const [error, setError] = useState("");
  const may = (verb: string) => allows(props.session, `accounts:${verb}`);
  const reload = () =>
    api.GET("/roles").then(({ data, error }) => {
      if (!data) return setError(problemText(error));
      setItems(data.items);
      setEvery(data.permissions as Permission[]);
    });
  useEffect(() => {
    reload();
  }, []);
  return (
    <>
      <div className="title-row">
        <h2>Roles</h2>
        {may("create") && (
          <button type="button" className="primary" onClick={() => setEditing("new")}>
            New role
          </button>
        )}
      </div>
      <Alert text={error} />
      {editing && (
        <RoleForm
          key={editing === "new" ? "new" : `${editing.reference}${editing.revision}`}
          role={editing === "new" ? null : editing}
          roles={items}
          every={every}
          onDone={(changed) => {
            setEditing(null);
            if (changed) reload();
          }}
        />
      )}
      <ul className="roles">
        {items.map((r) => (
          <li key={r.reference} className="card">
            <h3>
              {r.name} <code>{r.reference}</code> <span className="muted">{r.built_in ? "built in" : "custom"}</span>
            </h3>
            <p className="muted">{r.permissions.join(" · ")}</p>
            {!r.built_in && (
              <div className="buttons">
                {may("edit") && (
                  <button type="button" onClick={() => setEditing(r)}>
                    Edit
                  </button>
                )}
                {may("delete") && (
                  <DeleteButton
                    question={`Delete the role "${r.name}"?`}
                    remove={() => api.DELETE("/roles/{reference}", { params: { path: { reference: r.reference } } })}
                    onDeleted={reload}
                    onError={setError}
                  />
                )}
              </div>
            )}
          </li>
        ))}
      </ul>
    </>
  );
}

/** A custom role's form: its permissions as a grid, one row per resource, one box per verb; a
 * new role may start from another's permissions. */
function RoleForm(props: { role: Role | null; roles: Role[]; every: Permission[]; onDone: (changed: boolean) => void }) {
  const { role } = props;
  const [reference, setReference] = useState(role?.reference ?? "");
  const [name, setName] = useState(role?.name ?? "");
  const [chosen, setChosen] = useState<Set<string>>(new Set(role?.permissions ?? []));
  const [error, setError] = useState("");
  const resources: [string, Permission[]][] = [];
  for (const p of props.every) {
    const resource = p.slice(0, p.lastIndexOf(":"));
    const row = resources.find(([r]) => r === resource);
    if (row) row[1].push(p);
    else resources.push([resource, [p]]);
  }
  const toggle = (p: string, on: boolean) =>
    setChosen((c) => {
      const n = new Set(c);
      if (on) n.add(p);
      else n.delete(p);
      return n;
    });
  return (
    <form
      className="panel wide"
      aria-label={role ? `Edit the role ${role.name}` : "New role"}
      onSubmit={async (e) => {
        e.preventDefault();
        setError("");
        const permissions = props.every.filter((p) => chosen.has(p));
        const r = role
          ? await api.PATCH("/roles/{reference}", {
              params: { path: { reference: role.reference }, header: { "If-Match": `"${role.revision}"` } },
              body: { name, permissions },
            })
          : await api.POST("/roles", { body: { reference, name, permissions } });
        if (r.response.ok) props.onDone(true);
        else setError(problemText(r.error));
      }}
    >
      <h3>{role ? role.name : "New role"}</h3>
      {!role && (
        <>
          <label>
            Reference
            <input required value={reference} onChange={(e) => setReference(e.target.value)} />
          </label>
          <label>
            Start from the permissions of
            <select value="" onChange={(e) => setChosen(new Set(props.roles.find((r) => r.reference === e.target.value)?.permissions ?? []))}>
              <option value="">Choose a role</option>
              {props.roles.map((r) => (
                <option key={r.reference} value={r.reference}>
                  {r.name}
                </option>
              ))}
            </select>
          </label>
        </>
      )}
      <label>
        Name
        <input required value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      <table className="list permissions">
        <caption>Permissions</caption>
        <thead>
          <tr>
            <th scope="col">Resource</th>
            <th scope="col">May</th>
          </tr>
        </thead>
        <tbody>
          {resources.map(([resource, perms]) => (
            <tr key={resource}>
              <th scope="row">{resource}</th>
              <td>
                {perms.map((p) => (
                  <label key={p} className="inline">
                    <input type="checkbox" checked={chosen.has(p)} onChange={(e) => toggle(p, e.target.checked)} aria-label={p} />
                    {p.slice(p.lastIndexOf(":") + 1)}
                  </label>
                ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <Alert text={error} />
      <div className="buttons">
        <button type="submit" className="primary">
          Save
        </button>
        <button type="button" onClick={() => props.onDone(false)}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function Audit() {
  const [items, setItems] = useState<Schemas["AuditEntryDto"][]>([]);
  useEffect(() => {
    api.GET("/audit", { params: { query: { limit: 200 } } }).then(({ data }) => setItems(data?.items ?? []));
  }, []);
  return (
    <table className="list">
      <thead>
        <tr>
          <th scope="col">When</th>
          <th scope="col">Who</th>
          <th scope="col">What</th>
          <th scope="col">Target</th>
          <th scope="col">Status</th>
        </tr>
      </thead>
      <tbody>
        {items.map((a) => (
          <tr key={a.id}>
            <td>{new Date(a.at).toLocaleString()}</td>
            <td>{a.actor}</td>
            <td>
              {a.action} <code>{a.method} {a.path}</code>
            </td>
            <td>{a.target ?? "—"}</td>
            <td>{a.status}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
