import { Alert } from "../alert";
import { useEffect, useState } from "react";
import { api, problemText, type Schemas } from "../api";
import { Link } from "../route";
import { Variables } from "../variables";

type Summary = Schemas["InteractionSummary"];
type Status = Schemas["StatusDto"];

/** Interactions, newest first, by status. */
export function Interactions() {
  const [items, setItems] = useState<Summary[]>([]);
  const [status, setStatus] = useState<Status | "">("");
  const [error, setError] = useState("");
  useEffect(() => {
    api
      .GET("/interactions", { params: { query: { limit: 100, ...(status ? { status } : {}) } } })
      .then(({ data, error }) => (data ? setItems(data.items) : setError(problemText(error))));
  }, [status]);
  return (
    <section aria-labelledby="interactions-title">
      <div className="title-row">
        <h1 id="interactions-title">Interactions</h1>
        <label className="inline">
          Status
          <select value={status} onChange={(e) => setStatus(e.target.value as Status | "")}>
            <option value="">All</option>
            <option value="new">New</option>
            <option value="waiting">Waiting</option>
            <option value="closed">Closed</option>
          </select>
        </label>
      </div>
      <Alert text={error} />
      <table className="list">
        <thead>
          <tr>
            <th scope="col">Customer</th>
            <th scope="col">Mode</th>
            <th scope="col">Status</th>
            <th scope="col">Updated</th>
          </tr>
        </thead>
        <tbody>
          {items.map((i) => (
            <tr key={i.id}>
              <td>
                <Link to={`/interactions/${i.id}`}>{i.customer}</Link>
              </td>
              <td>{i.mode}</td>
              <td>{i.status}</td>
              <td>{new Date(i.updated_at).toLocaleString()}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {items.length === 0 && <p className="empty">None.</p>}
    </section>
  );
}

/** One interaction: its events in order, its variables, and a link to its path on the tree. */
export function InteractionPage(props: { id: string }) {
  const [detail, setDetail] = useState<Schemas["InteractionDto"] | null>(null);
  const [family, setFamily] = useState<string | null>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    api.GET("/interactions/{id}", { params: { path: { id: props.id }, query: { events_limit: 1000 } } }).then(({ data, error }) => {
      if (!data) return setError(problemText(error));
      setDetail(data);
      api.GET("/routings/{id}", { params: { path: { id: data.routing_id } } }).then(({ data: r }) => setFamily(r?.channel_family ?? null));
    });
  }, [props.id]);
  if (!detail) return error ? <Alert text={error} /> : <p>Loading…</p>;
  const events = detail.events as unknown as { seq: number; at: string; event: Record<string, unknown> }[];
  return (
    <section aria-labelledby="interaction-title">
      <p className="crumbs">
        <Link to="/interactions">Interactions</Link>
      </p>
      <div className="title-row">
        <h1 id="interaction-title">{detail.customer}</h1>
        <span className="tag">{detail.status}</span>
        {family && (
          <Link className="button-link" to={`/routings/${family}/${detail.routing_id}/versions/${detail.version_id}?interaction=${detail.id}`}>
            Show its path on the tree
          </Link>
        )}
      </div>
      <h2>Events</h2>
      <ol className="timeline">
        {events.map((e) => {
          const { type, ...rest } = e.event;
          return (
            <li key={e.seq}>
              <time dateTime={e.at}>{new Date(e.at).toLocaleTimeString()}</time> <strong>{String(type)}</strong>{" "}
              <code>{JSON.stringify(rest)}</code>
            </li>
          );
        })}
      </ol>
      <h2>Variables</h2>
      <Variables values={detail.variables} />
    </section>
  );
}
