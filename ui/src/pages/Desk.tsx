import { Alert } from "../alert";
import { useCallback, useEffect, useRef, useState } from "react";
import { api, problemText, type Schemas } from "../api";
import { linesOf } from "../chat";

type Conversation = Schemas["AgentConversation"];
type Interaction = Schemas["InteractionDto"];
type Presence = Schemas["PresenceDto"];

/** A short two-note chime, made on the spot (no sound file is fetched). */
function chime(audio: AudioContext) {
  const at = audio.currentTime;
  [880, 1320].forEach((hz, i) => {
    const tone = audio.createOscillator();
    const gain = audio.createGain();
    tone.frequency.value = hz;
    gain.gain.setValueAtTime(0.15, at + i * 0.15);
    gain.gain.exponentialRampToValueAtTime(0.001, at + i * 0.15 + 0.14);
    tone.connect(gain).connect(audio.destination);
    tone.start(at + i * 0.15);
    tone.stop(at + i * 0.15 + 0.15);
  });
}

/** The agent desk: presence, live offers with the time left, the conversations and the chat. */
export function Desk() {
  const [me, setMe] = useState<Schemas["UserDto"] | null>(null);
  const [list, setList] = useState<Conversation[]>([]);
  const [until, setUntil] = useState<Record<string, string>>({});
  const [unread, setUnread] = useState<Record<string, number>>({});
  const [open, setOpen] = useState<string | null>(null);
  const [detail, setDetail] = useState<Interaction | null>(null);
  const [error, setError] = useState("");
  const [live, setLive] = useState(false);
  const [now, setNow] = useState(Date.now());
  const openRef = useRef<string | null>(null);
  openRef.current = open;
  // the optional sound of a new offer: chosen once per browser; the audio starts from the
  // click that turns it on (browsers let no page play sound before a gesture)
  const [sound, setSound] = useState(() => localStorage.getItem("switchyard.desk.sound") === "on");
  const audio = useRef<AudioContext | null>(null);
  const soundRef = useRef(sound);
  soundRef.current = sound;
  const toggleSound = (on: boolean) => {
    setSound(on);
    localStorage.setItem("switchyard.desk.sound", on ? "on" : "off");
    if (on) {
      audio.current ??= new AudioContext();
      audio.current.resume();
    }
  };

  const refresh = useCallback(async () => {
    const { data, error } = await api.GET("/agent/conversations");
    if (data) setList(data);
    else setError(problemText(error));
  }, []);
  const loadDetail = useCallback(async (id: string) => {
    const { data } = await api.GET("/agent/conversations/{id}", { params: { path: { id } } });
    setDetail(data ?? null);
  }, []);

  useEffect(() => {
    api.GET("/agent/me").then(({ data, error }) => (data ? setMe(data) : setError(problemText(error))));
    refresh();
    // the live feed: every event brings the lists up to date
    let socket: WebSocket | null = null;
    let stopped = false;
    const connect = () => {
      socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/v1/agent/ws`);
      socket.onopen = () => setLive(true);
      socket.onclose = () => {
        setLive(false);
        if (!stopped) setTimeout(connect, 2000);
      };
      socket.onmessage = (m) => {
        const e = JSON.parse(m.data) as { type: string; interaction_id?: string; until?: string };
        if (e.type === "offer" && e.interaction_id && e.until) {
          setUntil((u) => ({ ...u, [e.interaction_id!]: e.until! }));
          if (soundRef.current) {
            audio.current ??= new AudioContext();
            chime(audio.current);
          }
        }
        if (e.type === "message" && e.interaction_id && e.interaction_id !== openRef.current)
          setUnread((u) => ({ ...u, [e.interaction_id!]: (u[e.interaction_id!] ?? 0) + 1 }));
        refresh();
        if (openRef.current && e.interaction_id === openRef.current) loadDetail(openRef.current);
      };
    };
    connect();
    const tick = setInterval(() => setNow(Date.now()), 1000);
    return () => {
      stopped = true;
      socket?.close();
      clearInterval(tick);
    };
  }, [refresh, loadDetail]);

  const offers = list.filter((c) => c.state === "offered");
  // a new offer shows in the tab's title, without taking the focus
  useEffect(() => {
    document.title = offers.length ? `(${offers.length}) Switchyard — agent desk` : "Switchyard — agent desk";
    return () => {
      document.title = "Switchyard";
    };
  }, [offers.length]);

  const act = async (call: () => Promise<{ error?: unknown; response: Response }>) => {
    setError("");
    const { error, response } = await call();
    if (!response.ok) setError(problemText(error));
    await refresh();
    return response.ok;
  };
  const select = (id: string) => {
    setOpen(id);
    setUnread((u) => ({ ...u, [id]: 0 }));
    loadDetail(id);
  };
  const setPresence = async (presence: Presence) => {
    const { data, error } = await api.PUT("/agent/presence", { body: { presence } });
    if (data) setMe(data);
    else setError(problemText(error));
  };
  const held = list.filter((c) => c.state === "assigned");
  const current = list.find((c) => c.id === open);
  return (
    <section className="desk" aria-labelledby="desk-title">
      <div className="title-row">
        <h1 id="desk-title">Agent desk</h1>
        <span className={live ? "tag" : "tag warning"} role="status">
          {live ? "Live" : "Reconnecting…"}
        </span>
        <label className="inline">
          Presence
          <select value={me?.presence ?? "offline"} onChange={(e) => setPresence(e.target.value as Presence)}>
            <option value="online">Online</option>
            <option value="away">Away</option>
            <option value="offline">Offline</option>
          </select>
        </label>
        <label className="inline">
          <input type="checkbox" checked={sound} onChange={(e) => toggleSound(e.target.checked)} />
          Sound on new offers
        </label>
      </div>
      <Alert text={error} />
      <div className="desk-body">
        <nav className="desk-list" aria-label="Conversations">
          <h2>Offers</h2>
          {offers.length === 0 && <p className="muted">No offer.</p>}
          <ul>
            {offers.map((c) => {
              const left = until[c.id] ? Math.max(0, Math.round((Date.parse(until[c.id]) - now) / 1000)) : null;
              return (
                <li key={c.id} className="offer">
                  <span>{c.customer}</span>
                  {left !== null && <span className="muted"> · {left} s left</span>}
                  <div className="buttons">
                    <button type="button" className="primary" onClick={() => act(() => api.POST("/agent/conversations/{id}/accept", { params: { path: { id: c.id } } })).then(() => select(c.id))}>
                      Accept
                    </button>
                    <button type="button" onClick={() => act(() => api.POST("/agent/conversations/{id}/decline", { params: { path: { id: c.id } } }))}>
                      Decline
                    </button>
                  </div>
                </li>
              );
            })}
          </ul>
          <h2>My conversations</h2>
          {held.length === 0 && <p className="muted">None.</p>}
          <ul>
            {held.map((c) => (
              <li key={c.id}>
                <button type="button" className={`link-button${c.id === open ? " current" : ""}`} aria-current={c.id === open ? "true" : undefined} onClick={() => select(c.id)}>
                  {c.customer}
                  {(unread[c.id] ?? 0) > 0 && <span className="badge warning-badge"> {unread[c.id]} new</span>}
                </button>
              </li>
            ))}
          </ul>
        </nav>
        <div className="chat">
          {current && current.state === "assigned" && detail && detail.id === current.id ? (
            <Chat conversation={current} detail={detail} onChanged={() => loadDetail(current.id)} act={act} onEnded={() => setOpen(null)} />
          ) : (
            <p className="muted">Accept an offer or choose a conversation.</p>
          )}
        </div>
      </div>
    </section>
  );
}

/** Who the customer is: name, reference, fields, owner, and their previous interactions. */
function CustomerCard(props: { id: string }) {
  const [card, setCard] = useState<Schemas["CustomerCard"] | null>(null);
  useEffect(() => {
    setCard(null);
    api.GET("/agent/conversations/{id}/customer", { params: { path: { id: props.id } } }).then(({ data }) => setCard(data ?? null));
  }, [props.id]);
  const c = card?.customer;
  if (!card || !c) return null;
  const fields = Object.entries(c.fields as Record<string, unknown>);
  return (
    <section className="customer-card" aria-label="Customer">
      <p>
        <strong>{c.name || "No name yet"}</strong> <span className="muted">{c.channel} · {c.address}</span>
        {c.reference && <span className="tag">{c.reference}</span>}
      </p>
      {fields.length > 0 && (
        <dl className="fields">
          {fields.map(([k, v]) => (
            <div key={k}>
              <dt>{k}</dt>
              <dd>{typeof v === "string" ? v : JSON.stringify(v)}</dd>
            </div>
          ))}
        </dl>
      )}
      <p className="muted">{card.owner_name ? `Owned by ${card.owner_name}` : "No owner"}</p>
      <details>
        <summary>
          {card.previous.length === 0 ? "No previous interaction" : `${card.previous.length}${card.previous.length === 20 ? "+" : ""} previous interactions`}
        </summary>
        <ul>
          {card.previous.map((i) => (
            <li key={i.id}>
              {new Date(i.created_at).toLocaleString()} · {i.status}
            </li>
          ))}
        </ul>
      </details>
    </section>
  );
}

/** The system variable `email` of an email interaction (its latest email). */
type Email = {
  from: string;
  from_name?: string;
  to: string[];
  cc: string[];
  subject: string;
  date?: string | null;
  priority: string;
  attachments: { name: string; type: string; size: number; url: string }[];
};

function EmailHeader(props: { email: Email }) {
  const e = props.email;
  return (
    <dl className="email-header" aria-label="Email">
      <dt>From</dt>
      <dd>{e.from_name ? `${e.from_name} <${e.from}>` : e.from}</dd>
      <dt>To</dt>
      <dd>{e.to.join(", ")}</dd>
      {e.cc.length > 0 && (
        <>
          <dt>Cc</dt>
          <dd>{e.cc.join(", ")}</dd>
        </>
      )}
      <dt>Subject</dt>
      <dd>{e.subject}</dd>
      {e.date && (
        <>
          <dt>Date</dt>
          <dd>{e.date}</dd>
        </>
      )}
      {e.priority !== "normal" && (
        <>
          <dt>Priority</dt>
          <dd>{e.priority}</dd>
        </>
      )}
      {e.attachments.length > 0 && (
        <>
          <dt>Attachments</dt>
          <dd>
            {e.attachments.map((a) => (
              <a key={a.url} href={a.url} download={a.name} className="attachment">
                {a.name} ({Math.ceil(a.size / 1024)} KiB)
              </a>
            ))}
          </dd>
        </>
      )}
    </dl>
  );
}

function Chat(props: {
  conversation: Conversation;
  detail: Interaction;
  onChanged: () => void;
  onEnded: () => void;
  /** Runs an agent call; whether it succeeded (a refusal is shown, the conversation kept). */
  act: (call: () => Promise<{ error?: unknown; response: Response }>) => Promise<boolean>;
}) {
  const [text, setText] = useState("");
  const [target, setTarget] = useState("");
  const [groups, setGroups] = useState<Schemas["TransferGroup"][]>([]);
  const [users, setUsers] = useState<Schemas["TransferUser"][]>([]);
  const id = props.conversation.id;
  const lines = linesOf(props.detail);
  const endRef = useRef<HTMLDivElement>(null);
  useEffect(() => {
    endRef.current?.scrollIntoView({ block: "end" });
  }, [lines.length]);
  useEffect(() => {
    api.GET("/agent/groups").then(({ data }) => setGroups(data ?? []));
    api.GET("/agent/users").then(({ data }) => setUsers(data ?? []));
  }, []);
  // the target: `group:<id>` or `user:<id>`
  const [kind, targetId] = target.split(":");
  const transferBody = kind === "user" ? { user_id: targetId } : { group_id: targetId };
  const path = { params: { path: { id } } };
  const email = (props.detail.system as { email?: Email }).email;
  return (
    <section aria-label={`Conversation with ${props.conversation.customer}`}>
      <h2>{props.conversation.customer}</h2>
      <CustomerCard id={id} />
      {email && <EmailHeader email={email} />}
      <ol className="lines" aria-label="History">
        {lines.map((l) => (
          <li key={l.key} className={`line ${l.from}`}>
            <span className="visually-hidden">{l.from === "customer" ? "Customer: " : "Us: "}</span>
            {l.text}
            {l.choices && <span className="muted"> [{l.choices.join(" · ")}]</span>}
            {l.media?.map((m) =>
              m.content_type.startsWith("image/") ? (
                <a key={m.url} href={m.url} target="_blank" rel="noreferrer">
                  <img className="medium" src={m.url} alt={`An image from the customer (${Math.ceil(m.size / 1024)} KiB)`} />
                </a>
              ) : (
                <a key={m.url} href={m.url} target="_blank" rel="noreferrer" className="medium">
                  A file ({m.content_type}, {Math.ceil(m.size / 1024)} KiB)
                </a>
              ),
            )}
          </li>
        ))}
      </ol>
      <div ref={endRef} />
      <form
        className="answer"
        onSubmit={async (e) => {
          e.preventDefault();
          if (!text.trim()) return;
          await props.act(() => api.POST("/agent/conversations/{id}/messages", { ...path, body: { text } }));
          setText("");
          props.onChanged();
        }}
      >
        <label className="grow">
          {email ? "Answer (by email, in the thread)" : "Answer"}
          <textarea value={text} onChange={(e) => setText(e.target.value)} rows={email ? 6 : 2} />
        </label>
        <button type="submit" className="primary">
          Send
        </button>
      </form>
      <div className="buttons">
        <label className="inline">
          Transfer to
          <select value={target} onChange={(e) => setTarget(e.target.value)}>
            <option value="">A group or a colleague…</option>
            <optgroup label="Groups">
              {groups.map((g) => (
                <option key={g.id} value={`group:${g.id}`}>
                  {g.name}
                </option>
              ))}
            </optgroup>
            <optgroup label="Colleagues">
              {users.map((u) => (
                <option key={u.id} value={`user:${u.id}`}>
                  {u.name} ({u.presence})
                </option>
              ))}
            </optgroup>
          </select>
        </label>
        <button
          type="button"
          disabled={!target}
          onClick={() => props.act(() => api.POST("/agent/conversations/{id}/transfer", { ...path, body: transferBody })).then((ok) => ok && props.onEnded())}
        >
          Transfer
        </button>
        <button type="button" onClick={() => props.act(() => api.POST("/agent/conversations/{id}/release", path)).then((ok) => ok && props.onEnded())}>
          Release
        </button>
        <button type="button" className="danger" onClick={() => props.act(() => api.POST("/agent/conversations/{id}/close", path)).then((ok) => ok && props.onEnded())}>
          Close
        </button>
      </div>
    </section>
  );
}
