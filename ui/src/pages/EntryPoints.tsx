import { Alert } from "../alert";
import { DeleteButton } from "../buttons";
import { useEffect, useState } from "react";
import { allows, api, everyPage, problemText, type Schemas, type Session } from "../api";

type EntryPoint = Schemas["EntryPointDto"];
type Channel = Schemas["ChannelDto"];
type Secrets = Schemas["SecretsBody"];
type Rules = Schemas["CustomerRoutingDto"];
type RuleGroup = Schemas["RuleGroupDto"];
type Algorithm = Schemas["RuleAlgorithmDto"];
type Group = Schemas["ObjectDto"];

/** Seed 004's algorithms, in its words. */
const ALGORITHMS: { value: Algorithm; label: string }[] = [
  { value: "random", label: "Random" },
  { value: "in_order", label: "In order" },
  { value: "most_waiting", label: "Most waiting" },
  { value: "least_chats", label: "Least number of chats" },
];

const CHANNELS: { channel: Channel; label: string; family: "messaging" | "email"; secrets: (keyof Secrets)[]; address?: string }[] = [
  { channel: "web_chat", label: "Web chat", family: "messaging", secrets: [] },
  { channel: "http", label: "HTTP", family: "messaging", secrets: [] },
  { channel: "whatsapp", label: "WhatsApp", family: "messaging", secrets: ["access_token", "app_secret", "verify_token"], address: "Phone number id" },
  { channel: "telegram", label: "Telegram", family: "messaging", secrets: ["bot_token", "secret_token"], address: "Bot username" },
  { channel: "messenger", label: "Messenger", family: "messaging", secrets: ["page_access_token", "app_secret", "verify_token"], address: "Page id" },
  { channel: "email", label: "Email (mailbox)", family: "email", secrets: ["imap_host", "imap_port", "imap_username", "imap_password", "imap_tls"], address: "Mailbox address" },
];

/** Entry points: where conversations come in, and the routings they start. Secrets are
 * write-only: the page shows which are set, never their values. */
export function EntryPoints(props: { session: Session }) {
  const [items, setItems] = useState<EntryPoint[]>([]);
  const [routings, setRoutings] = useState<Schemas["RoutingSummary"][]>([]);
  const [editing, setEditing] = useState<EntryPoint | "new" | null>(null);
  const [error, setError] = useState("");
  const reload = () =>
    everyPage((after) => api.GET("/entry-points", { params: { query: { limit: 200, after } } })).then(setItems, (e) => setError(problemText(e)));
  useEffect(() => {
    reload();
    everyPage((after) => api.GET("/routings", { params: { query: { limit: 200, after } } })).then(setRoutings, (e) => setError(problemText(e)));
  }, []);
  const may = (verb: string) => allows(props.session, `entry_points:${verb}`);
  const name = (id?: string | null) => routings.find((r) => r.id === id)?.name ?? "—";
  return (
    <section aria-labelledby="ep-title">
      <div className="title-row">
        <h1 id="ep-title">Entry points</h1>
        {may("create") && (
          <button type="button" className="primary" onClick={() => setEditing("new")}>
            New entry point
          </button>
        )}
      </div>
      <Alert text={error} />
      {editing && (
        <EntryPointForm
          key={editing === "new" ? "new" : editing.id + editing.revision}
          item={editing === "new" ? null : editing}
          routings={routings}
          editable={editing === "new" ? may("create") : may("edit")}
          onDone={(changed) => {
            setEditing(null);
            if (changed) reload();
          }}
        />
      )}
      <table className="list">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Channel</th>
            <th scope="col">Address</th>
            <th scope="col">Start routing</th>
            <th scope="col">Secrets set</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {items.map((e) => (
            <tr key={e.id}>
              <td>
                {e.name} <code>{e.reference}</code>
              </td>
              <td>{CHANNELS.find((c) => c.channel === e.channel)?.label ?? e.channel}</td>
              <td>{e.channel === "web_chat" ? <a href={`/chat/${e.reference}`}>/chat/{e.reference}</a> : (e.address ?? "—")}</td>
              <td>{name(e.start_routing_id)}</td>
              <td>{e.secrets_set.length ? e.secrets_set.join(", ") : "—"}</td>
              <td className="row-actions">
                <button type="button" onClick={() => setEditing(e)}>
                  {may("edit") ? "Edit" : "Open"}
                </button>
                {may("delete") && (
                  <DeleteButton
                    question={`Delete the entry point "${e.name}"?`}
                    remove={() => api.DELETE("/entry-points/{id}", { params: { path: { id: e.id } } })}
                    onDeleted={reload}
                    onError={setError}
                  />
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {items.length === 0 && <p className="empty">No entry point yet.</p>}
    </section>
  );
}

function EntryPointForm(props: { item: EntryPoint | null; routings: Schemas["RoutingSummary"][]; editable: boolean; onDone: (changed: boolean) => void }) {
  const { item } = props;
  const [channel, setChannel] = useState<Channel>(item?.channel ?? "web_chat");
  const [reference, setReference] = useState(item?.reference ?? "");
  const [name, setName] = useState(item?.name ?? "");
  const [address, setAddress] = useState(item?.address ?? "");
  const [callback, setCallback] = useState(item?.callback_url ?? "");
  const [secret, setSecret] = useState("");
  const [start, setStart] = useState(item?.start_routing_id ?? "");
  const [end, setEnd] = useState(item?.end_routing_id ?? "");
  const [secrets, setSecrets] = useState<Secrets>({});
  const [aliases, setAliases] = useState((item?.aliases ?? []).join(", "));
  const [testVersion, setTestVersion] = useState(item?.test_version_id ?? "");
  const [inTest, setInTest] = useState<Schemas["VersionSummary"][]>([]);
  const [rules, setRules] = useState<Rules | null>(item?.customer_routing ?? null);
  const [groups, setGroups] = useState<Group[]>([]);
  const [error, setError] = useState("");
  useEffect(() => {
    everyPage((after) => api.GET("/groups", { params: { query: { limit: 200, after } } })).then(setGroups, (e) => setError(problemText(e)));
  }, []);
  // the versions in test of the start routing: one may take this entry point's interactions
  // (seed 001 §4; not on the web chat)
  useEffect(() => {
    if (!start || channel === "web_chat") return setInTest([]);
    api.GET("/routings/{id}", { params: { path: { id: start } } }).then(({ data }) => setInTest((data?.versions ?? []).filter((v) => v.in_test)));
  }, [start, channel]);
  const spec = CHANNELS.find((c) => c.channel === channel)!;
  const of = (kind: "interaction_start" | "interaction_end") => props.routings.filter((r) => r.channel_family === spec.family && r.kind === kind);
  const filled = Object.fromEntries(Object.entries(secrets).filter(([, v]) => v)) as Secrets;
  return (
    <form
      className="panel wide"
      aria-label={item ? `Edit ${item.name}` : "New entry point"}
      onSubmit={async (e) => {
        e.preventDefault();
        setError("");
        const body: Schemas["EntryPointBody"] = {
          reference,
          name,
          start_routing_id: start || null,
          end_routing_id: end || null,
          ...(spec.address ? { address: address || null } : {}),
          ...(channel === "http" ? { callback_url: callback || null, ...(secret ? { secret } : {}) } : {}),
          ...(Object.keys(filled).length ? { secrets: filled } : {}),
          ...(channel === "email" ? { aliases: aliases.split(/[\s,;]+/).filter(Boolean) } : {}),
          ...(channel !== "web_chat" ? { test_version_id: testVersion || null } : {}),
          ...(spec.family === "messaging" && (rules || item?.customer_routing) ? { customer_routing: rules } : {}),
        };
        const r = item
          ? await api.PATCH("/entry-points/{id}", { params: { path: { id: item.id }, header: { "If-Match": `"${item.revision}"` } }, body })
          : await api.POST("/entry-points", { body: { ...body, name, reference, channel } });
        if (r.response.ok) props.onDone(true);
        else setError(problemText(r.error));
      }}
    >
      <h2>{item ? item.name : "New entry point"}</h2>
      <label>
        Channel
        <select value={channel} disabled={!!item || !props.editable} onChange={(e) => setChannel(e.target.value as Channel)}>
          {CHANNELS.map((c) => (
            <option key={c.channel} value={c.channel}>
              {c.label}
            </option>
          ))}
        </select>
      </label>
      <label>
        Reference
        <input required value={reference} disabled={!props.editable} onChange={(e) => setReference(e.target.value)} />
      </label>
      <label>
        Name
        <input required value={name} disabled={!props.editable} onChange={(e) => setName(e.target.value)} />
      </label>
      {spec.address && (
        <label>
          {spec.address}
          <input value={address} disabled={!props.editable} onChange={(e) => setAddress(e.target.value)} />
        </label>
      )}
      {channel === "email" && (
        <label>
          Aliases (other addresses of the mailbox, separated by commas)
          <input value={aliases} disabled={!props.editable} onChange={(e) => setAliases(e.target.value)} />
        </label>
      )}
      {channel === "http" && (
        <>
          <label>
            Callback URL
            <input type="url" value={callback} disabled={!props.editable} onChange={(e) => setCallback(e.target.value)} />
          </label>
          <label>
            Signing secret (32 to 256 characters){item?.secrets_set.includes("secret") ? " — set; type a new one to replace it" : ""}
            <input type="password" autoComplete="new-password" value={secret} disabled={!props.editable} onChange={(e) => setSecret(e.target.value)} />
          </label>
        </>
      )}
      <label>
        Start routing
        <select value={start} disabled={!props.editable} onChange={(e) => setStart(e.target.value)}>
          <option value="">None</option>
          {of("interaction_start").map((r) => (
            <option key={r.id} value={r.id}>
              {r.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        End routing
        <select value={end} disabled={!props.editable} onChange={(e) => setEnd(e.target.value)}>
          <option value="">None</option>
          {of("interaction_end").map((r) => (
            <option key={r.id} value={r.id}>
              {r.name}
            </option>
          ))}
        </select>
      </label>
      {spec.family === "messaging" && (
        <CustomerRouting rules={rules} groups={groups} editable={props.editable} onChange={setRules} />
      )}
      {channel !== "web_chat" && (
        <label>
          Version in test (takes this entry point's interactions while it is in test)
          <select value={testVersion} disabled={!props.editable} onChange={(e) => setTestVersion(e.target.value)}>
            <option value="">None: the production version</option>
            {testVersion && !inTest.some((v) => v.id === testVersion) && <option value={testVersion}>A version no longer in test</option>}
            {inTest.map((v) => (
              <option key={v.id} value={v.id}>
                {v.name} (v{v.number})
              </option>
            ))}
          </select>
        </label>
      )}
      {spec.secrets.length > 0 && (
        <fieldset>
          <legend>Secrets (write-only: never shown again; leave empty to keep)</legend>
          {spec.secrets.map((k) => (
            <label key={k}>
              {k}
              {item?.secrets_set.includes(k) ? " (set)" : ""}
              <input
                type={k === "imap_host" || k === "imap_port" || k === "imap_username" || k === "imap_tls" ? "text" : "password"}
                autoComplete="off"
                value={secrets[k] ?? ""}
                disabled={!props.editable}
                onChange={(e) => setSecrets((s) => ({ ...s, [k]: e.target.value }))}
              />
            </label>
          ))}
        </fieldset>
      )}
      <Alert text={error} />
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
    </form>
  );
}

/** Customer routing options (seed 004): instead of a start routing, new customers go to a
 * group (one while someone is online, one while everyone is offline) and a returning customer to
 * their owner, or by a rule when the owner is not online. */
function CustomerRouting(props: { rules: Rules | null; groups: Group[]; editable: boolean; onChange: (r: Rules | null) => void }) {
  const { rules, groups } = props;
  const first = groups[0]?.id ?? "";
  const blank = (): RuleGroup => ({ group_id: first, message: "" });
  const set = (patch: Partial<Rules>) => rules && props.onChange({ ...rules, ...patch });
  const owner = rules?.owner_offline;
  return (
    <fieldset>
      <legend>Customer routing options</legend>
      <label className="inline">
        <input
          type="checkbox"
          checked={!!rules}
          disabled={!props.editable || (!rules && groups.length === 0)}
          onChange={(e) => props.onChange(e.target.checked ? { new_online: blank(), new_offline: blank(), owner_offline: { rule: "keep_user" } } : null)}
        />
        Route by customer instead of a smart routing (new customers to a group, returning ones to their owner)
      </label>
      {!rules && groups.length === 0 && <p className="muted">Create a group first: the rules send customers to groups.</p>}
      {rules && (
        <>
          <RuleGroupFields
            legend="New customer, at least one user is online"
            example="Welcome to my store. We'll be with you in a moment."
            value={rules.new_online}
            groups={groups}
            editable={props.editable}
            onChange={(g) => set({ new_online: g })}
          />
          <RuleGroupFields
            legend="New customer, all users offline"
            example="Thank you for your message. We are out of office hours."
            value={rules.new_offline}
            groups={groups}
            editable={props.editable}
            onChange={(g) => set({ new_offline: g })}
          />
          <fieldset>
            <legend>Returning customer whose owner is not online</legend>
            <p className="muted">A returning customer's messages go straight to the user who owns them; when everyone is offline, they wait for the owner.</p>
            <label className="inline">
              <input
                type="radio"
                name="owner-offline"
                checked={owner?.rule === "keep_user"}
                disabled={!props.editable}
                onChange={() => set({ owner_offline: { rule: "keep_user" } })}
              />
              Keep user: the customer talks only with their owner, even offline
            </label>
            <label className="inline">
              <input
                type="radio"
                name="owner-offline"
                checked={owner?.rule === "group"}
                disabled={!props.editable}
                onChange={() => set({ owner_offline: { rule: "group", ...blank() } })}
              />
              Send them to a group
            </label>
            {owner?.rule === "group" && (
              <RuleGroupFields
                legend="The group for a customer whose owner is not online"
                example=""
                value={owner}
                groups={groups}
                editable={props.editable}
                onChange={(g) => set({ owner_offline: { rule: "group", ...g } })}
              />
            )}
          </fieldset>
        </>
      )}
    </fieldset>
  );
}

function RuleGroupFields(props: { legend: string; example: string; value: RuleGroup; groups: Group[]; editable: boolean; onChange: (g: RuleGroup) => void }) {
  const { value } = props;
  const known = props.groups.some((g) => g.id === value.group_id);
  return (
    <fieldset>
      <legend>{props.legend}</legend>
      <label>
        Select a group
        <select required value={value.group_id} disabled={!props.editable} onChange={(e) => props.onChange({ ...value, group_id: e.target.value })}>
          {!known && <option value={value.group_id}>{value.group_id ? "A group that no longer exists" : "Choose a group"}</option>}
          {props.groups.map((g) => (
            <option key={g.id} value={g.id}>
              {g.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        Algorithm
        <select
          value={value.algorithm ?? ""}
          disabled={!props.editable}
          onChange={(e) => props.onChange({ ...value, algorithm: (e.target.value || undefined) as Algorithm | undefined })}
        >
          <option value="">The group's own</option>
          {ALGORITHMS.map((a) => (
            <option key={a.value} value={a.value}>
              {a.label}
            </option>
          ))}
        </select>
      </label>
      <label>
        Send this message (after the conversation is assigned; empty: none)
        <textarea
          maxLength={2000}
          value={value.message}
          placeholder={props.example}
          disabled={!props.editable}
          onChange={(e) => props.onChange({ ...value, message: e.target.value })}
        />
      </label>
    </fieldset>
  );
}
